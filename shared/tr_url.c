/* tr_url.c - callback URL validation with libcurl's URL API, so the URL we accept
 * is exactly one that the scheduler's libcurl will parse the same way. */
#include "tr_url.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

/* Nonzero when CURLUPART `part` is present in h (e.g. a user name). */
static int has_part(CURLU *h, CURLUPart part)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(h, part, &v, 0);
    int present = rc == CURLUE_OK && v != NULL;
    curl_free(v);
    return present;
}

int tr_url_check(const char *url, const char *field, char *msg, size_t msglen)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *h = NULL;

    if (url == NULL || url[0] == '\0') {
        snprintf(msg, msglen, "%s: empty", field);
        return -1;
    }
    size_t len = strlen(url);
    if (len > TR_URL_MAX) {
        snprintf(msg, msglen, "%s: longer than %d bytes", field, TR_URL_MAX);
        return -1;
    }
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
