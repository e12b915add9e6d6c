/* tr_url.c - callback URL validation with libcurl's URL API, so the URL we accept
 * is exactly one that the scheduler's libcurl will parse the same way. */
#include "tr_url.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nonzero when CURLUPART `part` is present in h (e.g. a user name). */
static int has_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(h, part, &v, 0);
    int present = rc == CURLUE_OK && v != NULL;
    curl_free(v);
    return present;
}

/* url is 1..TR_URL_MAX bytes: 0, or -1 with msg naming field. */
static int check_length(const char *url, const char *field, char *msg, size_t msglen)
{
    if (url == NULL || url[0] == '\0') {
        snprintf(msg, msglen, "%s: empty", field);
        return -1;
    }
    if (strlen(url) > TR_URL_MAX) {
        snprintf(msg, msglen, "%s: longer than %d bytes", field, TR_URL_MAX);
        return -1;
    }
    return 0;
}

int tr_url_check(const char *url, const char *field, char *msg, size_t msglen)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *h = NULL;

    if (check_length(url, field, msg, msglen) != 0)
        return -1;
    size_t len = strlen(url);
    /* Spaces and control bytes are never valid in a URL; curl would otherwise
     * reject some and percent-encode others depending on flags. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f) {
            snprintf(msg, msglen, "%s: holds a space or control character", field);
            return -1;
        }
    }
    h = curl_url();
    if (h == NULL) {
        snprintf(msg, msglen, "%s: out of memory", field);
        return -1;
    }
    /* Flags 0: no default scheme (relative URLs fail), unknown schemes fail. */
    CURLUcode uc = curl_url_set(h, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        if (uc == CURLUE_UNSUPPORTED_SCHEME)
            snprintf(msg, msglen, "%s: scheme must be http or https", field);
        else
            snprintf(msg, msglen, "%s: not an absolute URL (%s)", field, curl_url_strerror(uc));
        goto done;
    }
    if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == NULL ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(msg, msglen, "%s: scheme must be http or https", field);
        goto done;
    }
    /* curl reads "http:/h" and "http:///h" as http://h/; a client that wrote
     * them most likely meant something else, so the authority must follow "//". */
    size_t sl = strlen(scheme);
    const char *auth = url + sl + 3;
    if (len < sl + 3 || strncmp(url + sl, "://", 3) != 0 || *auth == '/' || *auth == '?' ||
        *auth == '#' || *auth == '\0') {
        snprintf(msg, msglen, "%s: has no host", field);
        goto done;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL ||
        host[0] == '\0') {
        snprintf(msg, msglen, "%s: has no host", field);
        goto done;
    }
    /* Port 0 connects nowhere (the kernel would pick a port): refused, not retried
     * until the timer dies. "00" reads as 0 too. */
    if (curl_url_get(h, CURLUPART_PORT, &port, 0) == CURLUE_OK && port != NULL &&
        port[strspn(port, "0")] == '\0') {
        snprintf(msg, msglen, "%s: port 0", field);
        goto done;
    }
    /* Credentials in a stored URL would end up in logs and Redis. */
    if (has_part(h, CURLUPART_USER) || has_part(h, CURLUPART_PASSWORD)) {
        snprintf(msg, msglen, "%s: must not hold user:password@", field);
        goto done;
    }
    if (msglen > 0)
        msg[0] = '\0';
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(h);
    return rc;
}

int tr_url_is_tcp(const char *url)
{
    if (url == NULL)
        return 0;
    if (strncasecmp(url, "tcp://", 6) == 0 || strncasecmp(url, "tls://", 6) == 0)
        return 1;
    if (strstr(url, "://") != NULL || url[0] == '\0')
        return 0;
    const char *colon = strrchr(url, ':');
    if (colon == NULL || colon == url || colon[1] == '\0' ||
        colon[1 + strspn(colon + 1, "0123456789")] != '\0')
        return 0;
    for (const char *p = url; p < colon; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@')
            return 0;
    }
    return 1;
}

int tr_url_is_tls(const char *url)
{
    return url != NULL && strncasecmp(url, "tls://", 6) == 0;
}

int tr_url_tcp_parse(const char *url, const char *field, char *as_http, size_t as_http_len,
                     char *host, size_t hostlen, int *port, char *msg, size_t msglen)
{
    if (check_length(url, field, msg, msglen) != 0)
        return -1;
    const char *hp = strncasecmp(url, "tcp://", 6) == 0 || tr_url_is_tls(url) ? url + 6 : url;
    const char *colon = strrchr(hp, ':');
    if (hp[strcspn(hp, "/?#@")] != '\0') {
        snprintf(msg, msglen, "%s: a tcp target is HOST:PORT, nothing more", field);
        return -1;
    }
    if (colon == NULL || colon == hp || (hp[0] == '[' && colon[-1] != ']')) {
        snprintf(msg, msglen, "%s: a tcp target needs HOST:PORT", field);
        return -1;
    }
    const char *ps = colon + 1;
    char *end = NULL;
    long p = ps[0] >= '0' && ps[0] <= '9' ? strtol(ps, &end, 10) : -1;
    if (p < 1 || p > 65535 || end == NULL || *end != '\0' || end - ps > 5) {
        snprintf(msg, msglen, "%s: port must be 1..65535", field);
        return -1;
    }
    /* As an http URL: the same host rules, and the same host text libcurl uses. */
    char h[TR_URL_MAX + 16];
    int n = snprintf(h, sizeof h, "http://%.*s:%ld/", (int)(colon - hp), hp, p);
    if (n < 0 || (size_t)n >= sizeof h || tr_url_check(h, field, msg, msglen) != 0) {
        if (msglen > 0 && msg[0] == '\0')
            snprintf(msg, msglen, "%s: not a valid tcp target", field);
        return -1;
    }
    if (host != NULL) {
        CURLU *u = curl_url();
        char *ch = NULL;
        int ok = u != NULL && curl_url_set(u, CURLUPART_URL, h, 0) == CURLUE_OK &&
                 curl_url_get(u, CURLUPART_HOST, &ch, 0) == CURLUE_OK && ch != NULL &&
                 strlen(ch) < hostlen;
        if (ok)
            for (size_t i = 0; i <= strlen(ch); i++)
                host[i] = (char)tolower((unsigned char)ch[i]);
        curl_free(ch);
        curl_url_cleanup(u);
        if (!ok) {
            snprintf(msg, msglen, "%s: not a valid tcp target", field);
            return -1;
        }
    }
    if (as_http != NULL) {
        if ((size_t)n >= as_http_len) {
            snprintf(msg, msglen, "%s: longer than %d bytes", field, TR_URL_MAX);
            return -1;
        }
        memcpy(as_http, h, (size_t)n + 1);
    }
    if (port != NULL)
        *port = (int)p;
    if (msglen > 0)
        msg[0] = '\0';
    return 0;
}

int tr_url_is_stream(const char *url)
{
    return url != NULL &&
           strncasecmp(url, TR_URL_STREAM_PREFIX, sizeof TR_URL_STREAM_PREFIX - 1) == 0;
}

const char *tr_url_stream_name(const char *url, const char *field, char *msg, size_t msglen)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789_.:-";
    if (!tr_url_is_stream(url)) {
        snprintf(msg, msglen, "%s: not a redis-stream:// target", field);
        return NULL;
    }
    const char *name = url + sizeof TR_URL_STREAM_PREFIX - 1;
    size_t n = strlen(name);
    if (n == 0 || n > TR_URL_STREAM_MAX || name[strspn(name, allowed)] != '\0') {
        snprintf(msg, msglen, "%s: a stream name is 1..%d of A-Z a-z 0-9 _ . : -", field,
                 TR_URL_STREAM_MAX);
        return NULL;
    }
    if (msglen > 0)
        msg[0] = '\0';
    return name;
}

int tr_url_check_target(const char *url, const char *field, char *msg, size_t msglen)
{
    if (tr_url_is_stream(url))
        return tr_url_stream_name(url, field, msg, msglen) != NULL ? 0 : -1;
    if (tr_url_is_tcp(url))
        return tr_url_tcp_parse(url, field, NULL, 0, NULL, 0, NULL, msg, msglen);
    return tr_url_check(url, field, msg, msglen);
}
