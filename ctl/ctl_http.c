/* ctl_http.c - libcurl easy interface for timerushctl (ctl_http.h). */
#include "ctl_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page of 1000 timers with 64 KiB of data each is 64 MiB: allow that and more, but
 * not a server that never stops sending. */
#define CTL_BODY_MAX ((size_t)256 << 20)

struct ctl_http {
    CURL *curl;
    struct curl_slist *headers; /* Authorization (a secret) and Content-Type */
    char *auth;                 /* "Authorization: Bearer ..." kept to wipe it */
    char base[2048];
    long timeout_ms;
};

/* The body being read: grows by doubling. */
typedef struct body_buf {
    char *p;
    size_t len, cap;
    int too_large;
} body_buf;

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    body_buf *b = userp;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1 && cap <= CTL_BODY_MAX)
            cap *= 2;
        if (cap > CTL_BODY_MAX) {
            b->too_large = 1;
            return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return n;
}

ctl_http *ctl_http_new(const char *base_url, const char *token, long timeout_ms, char *err,
                       size_t errlen)
{
    ctl_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((size_t)snprintf(h->base, sizeof h->base, "%s", base_url) >= sizeof h->base) {
        snprintf(err, errlen, "URL too long");
        goto fail;
    }
    h->timeout_ms = timeout_ms;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto fail;
    }
    if (token != NULL && token[0] != '\0') {
        size_t n = strlen("Authorization: Bearer ") + strlen(token) + 1;
        h->auth = malloc(n);
        if (h->auth == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(h->auth, n, "Authorization: Bearer %s", token);
        struct curl_slist *l = curl_slist_append(h->headers, h->auth);
        if (l == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        h->headers = l;
    }
    struct curl_slist *l = curl_slist_append(h->headers, "Content-Type: application/json");
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    h->headers = l;
    return h;
fail:
    ctl_http_free(h);
    return NULL;
}

void ctl_http_free(ctl_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    if (h->auth != NULL) {
        explicit_bzero(h->auth, strlen(h->auth));
        free(h->auth);
    }
    free(h);
}

void ctl_reply_clear(ctl_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

int ctl_http_key_path(ctl_http *h, const char *path_prefix, const char *key,
                      const char *path_suffix, char *buf, size_t len)
{
    char *esc = curl_easy_escape(h->curl, key, 0);
    if (esc == NULL)
        return -1;
    int n = snprintf(buf, len, "%s%s%s", path_prefix, esc, path_suffix);
    curl_free(esc);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Sets one option; the first failure is remembered in *rc. */
#define SETOPT(rc, curl, opt, val)                                                         \
    do {                                                                                   \
        if ((rc) == CURLE_OK)                                                              \
            (rc) = curl_easy_setopt((curl), (opt), (val));                                 \
    } while (0)

int ctl_http_do(ctl_http *h, const char *method, const char *path, const char *body,
                ctl_reply *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char url[4096];
    if ((size_t)snprintf(url, sizeof url, "%s%s", h->base, path) >= sizeof url) {
        snprintf(err, errlen, "URL too long");
        return -1;
    }
    /* A POST without a body still says Content-Length: 0 (pause, resume, replay). */
    if (body == NULL && strcmp(method, "POST") == 0)
        body = "";
    body_buf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = h->curl;
    /* The handle keeps its connection between requests; the options are set again
     * in full each time so one request's method or body never leaks into the next. */
    curl_easy_reset(c);
    CURLcode rc = CURLE_OK;
    SETOPT(rc, c, CURLOPT_URL, url);
    SETOPT(rc, c, CURLOPT_HTTPHEADER, h->headers);
    SETOPT(rc, c, CURLOPT_CUSTOMREQUEST, method);
    SETOPT(rc, c, CURLOPT_WRITEFUNCTION, on_data);
    SETOPT(rc, c, CURLOPT_WRITEDATA, &b);
    SETOPT(rc, c, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(rc, c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    SETOPT(rc, c, CURLOPT_NOSIGNAL, 1L);
    SETOPT(rc, c, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(rc, c, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(rc, c, CURLOPT_USERAGENT, "timerushctl");
    if (body != NULL) {
        SETOPT(rc, c, CURLOPT_POSTFIELDS, body);
        SETOPT(rc, c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "GET") == 0) {
        SETOPT(rc, c, CURLOPT_HTTPGET, 1L);
    }
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, url,
                 b.too_large ? "answer larger than 256 MiB"
                 : errbuf[0] != '\0' ? errbuf
                                     : curl_easy_strerror(rc));
        free(b.p);
        return -1;
    }
    long status = 0;
    rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(rc));
        free(b.p);
        return -1;
    }
    if (b.p == NULL) {
        b.p = calloc(1, 1);
        if (b.p == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    out->status = status;
    out->body = b.p;
    out->len = b.len;
    return 0;
}
