/* fuzz_fcgi_request.c - reading a FastCGI request (tr_fcgi_read_request): the
 * parameters nginx sends (REQUEST_METHOD, DOCUMENT_URI / SCRIPT_NAME / REQUEST_URI,
 * QUERY_STRING, CONTENT_LENGTH, CONTENT_TYPE, HTTP_AUTHORIZATION) and the body from
 * the input stream, then the body rule every endpoint applies (tr_http_body_check).
 *
 * The request is libfcgi's own FCGX_Request with an in-memory input stream whose
 * fill procedure hands the body over in chunks, as records arrive.
 * Input: 2 bytes of --max-body, 1 of chunk size, then "NAME=value" parameter lines
 * ('\n'-separated) up to an empty line, then the body bytes.
 * Checks against a reading written here: the path and query come from the documented
 * parameters in order; Content-Length is digits only (else unreadable, the body
 * drained); a body within the limit is kept exactly (cut short when the input ends
 * early), one over it is drained and marked too large; the input is always read to
 * its end (a kept-alive connection must be ready for its next request).
 */
#include <fcgiapp.h>
#include <string.h>

#include "tr_fcgi_io.h"
#include "tr_fuzz.h"
#include "tr_http.h"

#define MAX_PARAMS 32

typedef struct feed {
    const uint8_t *p;
    size_t left, chunk;
} feed;

/* libfcgi's fill procedure: the next chunk, or closed when nothing is left. */
static void fill(FCGX_Stream *s)
{
    feed *f = s->data;
    if (f->left == 0) {
        s->isClosed = 1;
        s->rdNext = s->stop = s->stopUnget;
        return;
    }
    size_t n = f->left < f->chunk ? f->left : f->chunk;
    s->rdNext = s->stopUnget = (unsigned char *)f->p;
    s->stop = (unsigned char *)f->p + n;
    f->p += n;
    f->left -= n;
}

static const char *param(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **p = envp; *p != NULL; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    size_t max_body = (size_t)(tr_fuzz_u8(&in) | tr_fuzz_u8(&in) << 8);
    size_t chunk = 1 + tr_fuzz_u8(&in);
    char *envp[MAX_PARAMS + 1];
    int np = 0;
    for (;;) {
        size_t n = 0;
        const uint8_t *line = tr_fuzz_field(&in, '\n', &n);
        if (n == 0)
            break;
        if (np < MAX_PARAMS)
            envp[np++] = tr_fuzz_str(line, n);
    }
    envp[np] = NULL;
    /* The body: a copy of exactly its size, so ASan sees any read past it. */
    uint8_t *body = (uint8_t *)tr_fuzz_str(in.p, in.left);
    size_t body_size = in.left;

    feed f = {body, body_size, chunk};
    FCGX_Stream s;
    memset(&s, 0, sizeof s);
    s.isReader = 1;
    s.fillBuffProc = fill;
    s.data = &f;
    s.rdNext = s.stop = s.stopUnget = body;
    FCGX_Request fr;
    memset(&fr, 0, sizeof fr);
    fr.in = &s;
    fr.envp = envp;

    tr_http_request req;
    char *buf = NULL;
    TR_FUZZ_CHECK(tr_fcgi_read_request(&fr, max_body, &req, &buf) == 0, "out of memory");

    /* The oracle. */
    const char *m = param(envp, "REQUEST_METHOD");
    TR_FUZZ_CHECK(strcmp(req.method, m != NULL ? m : "") == 0, "method");
    const char *doc = param(envp, "DOCUMENT_URI"), *script = param(envp, "SCRIPT_NAME");
    const char *uri = param(envp, "REQUEST_URI"), *q = param(envp, "QUERY_STRING");
    if (doc != NULL && doc[0] != '\0') {
        TR_FUZZ_CHECK(strcmp(req.path, doc) == 0, "path is not DOCUMENT_URI");
    } else if (script != NULL && script[0] != '\0') {
        TR_FUZZ_CHECK(strcmp(req.path, script) == 0, "path is not SCRIPT_NAME");
    } else {
        const char *u = uri != NULL ? uri : "";
        size_t ul = strcspn(u, "?");
        TR_FUZZ_CHECK(strlen(req.path) == ul && strncmp(req.path, u, ul) == 0,
                      "path '%s' from REQUEST_URI '%s'", req.path, u);
        if (q == NULL && u[ul] == '?')
            q = u + ul + 1;
    }
    TR_FUZZ_CHECK(strcmp(req.query, q != NULL ? q : "") == 0, "query '%s'", req.query);
    const char *ct = param(envp, "CONTENT_TYPE");
    TR_FUZZ_CHECK(ct != NULL && ct[0] != '\0' ? req.content_type == ct : req.content_type == NULL,
                  "content type");
    TR_FUZZ_CHECK(req.authorization == param(envp, "HTTP_AUTHORIZATION"), "authorization");

    const char *cl = param(envp, "CONTENT_LENGTH");
    int absent = cl == NULL || cl[0] == '\0';
    int digits = !absent && strspn(cl, "0123456789") == strlen(cl);
    /* Beyond int64: unreadable. 19 digits or fewer (after leading zeros) always fit
     * except 9223372036854775808..9999999999999999999. */
    const char *sig = digits ? cl + strspn(cl, "0") : "";
    int fits = digits && (strlen(sig) < 19 || (strlen(sig) == 19 && strcmp(sig, "9223372036854775807") <= 0));
    uint64_t want_cl = 0;
    for (const char *p = sig; fits && *p != '\0'; p++)
        want_cl = want_cl * 10 + (uint64_t)(*p - '0');
    if (absent) {
        TR_FUZZ_CHECK(req.content_length == -1 && req.body_ret == TR_RET_OK && req.body_len == 0,
                      "no Content-Length, yet %lld / ret %d / %zu bytes", (long long)req.content_length,
                      (int)req.body_ret, req.body_len);
    } else if (!fits) {
        TR_FUZZ_CHECK(req.content_length == -1 && req.body_ret == TR_RET_BAD_JSON &&
                          req.body == NULL,
                      "unreadable Content-Length '%s' accepted", cl);
    } else if (want_cl > max_body) {
        TR_FUZZ_CHECK(req.content_length == (int64_t)want_cl && req.body_ret == TR_RET_TOO_LARGE &&
                          req.body == NULL && tr_http_body_check(&req, max_body) == TR_RET_TOO_LARGE,
                      "Content-Length %llu over %zu kept", (unsigned long long)want_cl, max_body);
    } else {
        size_t want_len = want_cl < body_size ? (size_t)want_cl : body_size;
        TR_FUZZ_CHECK(req.content_length == (int64_t)want_cl && req.body_ret == TR_RET_OK &&
                          req.body_len == want_len &&
                          (want_len == 0 ? req.body == NULL : memcmp(req.body, body, want_len) == 0),
                      "body of %zu bytes kept as %zu", want_len, req.body_len);
        TR_FUZZ_CHECK(tr_http_body_check(&req, max_body) == TR_RET_OK, "body check");
    }
    TR_FUZZ_CHECK(f.left == 0 && s.rdNext == s.stop, "input not read to its end (%zu left)", f.left);

    free(buf);
    free(body);
    for (int i = 0; i < np; i++)
        free(envp[i]);
    return 0;
}
