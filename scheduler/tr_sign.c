#include "tr_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tr_config.h"

#define HMAC_LEN 32 /* SHA-256 */

struct tr_sign {
    EVP_MAC *mac;                        /* the HMAC implementation, fetched once */
    EVP_MAC_CTX *ctx[TR_SIGN_KEYS_MAX];  /* one per secret, keyed: reset per message */
    int n;                               /* secrets held */
};

void tr_sign_free(tr_sign *s)
{
    if (s == NULL)
        return;
    /* EVP_MAC_CTX_free wipes the key material it holds. */
    for (int i = 0; i < s->n; i++)
        EVP_MAC_CTX_free(s->ctx[i]);
    EVP_MAC_free(s->mac);
    free(s);
}

int tr_sign_count(const tr_sign *s)
{
    return s->n;
}

static int b64_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Decodes standard padded base64 p[0..len) into out (room for
 * TR_SIGN_SECRET_MAX bytes). The decoded length, or -1 when it is not base64 or
 * decodes to more than that. OpenSSL's decoder skips blanks and ignores the
 * padding in its count, so the text is checked here first. */
static int b64_decode(const char *p, size_t len, unsigned char *out)
{
    unsigned char tmp[TR_SIGN_SECRET_MAX + 3];
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof tmp)
        return -1;
    size_t pad = 0;
    while (pad < 2 && p[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char((unsigned char)p[i]))
            return -1;
    int n = EVP_DecodeBlock(tmp, (const unsigned char *)p, (int)len);
    if (n < 0 || (size_t)n < pad || (size_t)n - pad > TR_SIGN_SECRET_MAX) {
        OPENSSL_cleanse(tmp, sizeof tmp);
        return -1;
    }
    n -= (int)pad;
    memcpy(out, tmp, (size_t)n);
    OPENSSL_cleanse(tmp, sizeof tmp);
    return n;
}

/* Adds a keyed HMAC-SHA256 context for key[0..len) to s. 0 or -1. */
static int add_key(tr_sign *s, const unsigned char *key, size_t len)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(s->mac);
    if (c == NULL || EVP_MAC_init(c, key, len, params) != 1) {
        EVP_MAC_CTX_free(c);
        return -1;
    }
    s->ctx[s->n++] = c;
    return 0;
}

/* One line (without its newline): skipped, or a secret added. 0, or -1 with err. */
static int parse_line(tr_sign *s, const char *p, size_t len, int lineno, const char *where,
                      char *err, size_t errlen)
{
    static const char prefix[] = "whsec_";
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
    if (len == 0 || *p == '#')
        return 0;
    if (len < sizeof prefix - 1 || memcmp(p, prefix, sizeof prefix - 1) != 0) {
        snprintf(err, errlen, "%sline %d: not a secret: want whsec_<base64>, or a # comment",
                 where, lineno);
        return -1;
    }
    if (s->n == TR_SIGN_KEYS_MAX) {
        snprintf(err, errlen, "%sline %d: more than %d secrets", where, lineno,
                 TR_SIGN_KEYS_MAX);
        return -1;
    }
    unsigned char key[TR_SIGN_SECRET_MAX];
    int n = b64_decode(p + sizeof prefix - 1, len - (sizeof prefix - 1), key);
    int rc = -1;
    if (n < 0)
        snprintf(err, errlen, "%sline %d: the part after whsec_ is not padded base64 of at "
                 "most %d bytes", where, lineno, TR_SIGN_SECRET_MAX);
    else if (n < TR_SIGN_SECRET_MIN)
        snprintf(err, errlen, "%sline %d: secret of %d bytes; at least %d (192 bits)", where,
                 lineno, n, TR_SIGN_SECRET_MIN);
    else if (add_key(s, key, (size_t)n) != 0)
        snprintf(err, errlen, "%sline %d: OpenSSL cannot key HMAC-SHA256", where, lineno);
    else
        rc = 0;
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* Parses text; `where` prefixes every message ("FILE: " or ""). */
static tr_sign *parse(const char *text, size_t len, const char *where, char *err,
                      size_t errlen)
{
    tr_sign *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "%sout of memory", where);
        return NULL;
    }
    if ((s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
        snprintf(err, errlen, "%sOpenSSL has no HMAC", where);
        goto fail;
    }
    int lineno = 1;
    for (size_t off = 0; off < len; lineno++) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        if (memchr(text + off, '\0', end - off) != NULL) {
            snprintf(err, errlen, "%sline %d: holds a NUL byte", where, lineno);
            goto fail;
        }
        if (parse_line(s, text + off, end - off, lineno, where, err, errlen) != 0)
            goto fail;
        off = end + 1;
    }
    if (s->n == 0) {
        snprintf(err, errlen, "%sno secret (want lines whsec_<base64>)", where);
        goto fail;
    }
    return s;
fail:
    tr_sign_free(s);
    return NULL;
}

tr_sign *tr_sign_from_text(const char *text, size_t len, char *err, size_t errlen)
{
    return parse(text, len, "", err, errlen);
}

tr_sign *tr_sign_load(const char *path, char *err, size_t errlen)
{
    char where[TR_CONFIG_STR_MAX + 4]; /* "<--signing-secret-file>: " */
    snprintf(where, sizeof where, "%s: ", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s%s", where, strerror(errno));
        return NULL;
    }
    tr_sign *s = NULL;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s%s", where, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%snot a regular file", where);
        goto done;
    }
    /* A secret others can read is no secret; one they can write can be swapped. */
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%smode %04o gives group or others access: chmod 600 it",
                 where, (unsigned)(st.st_mode & 07777));
        goto done;
    }
    if (st.st_size > TR_SIGN_FILE_MAX) {
        snprintf(err, errlen, "%slarger than %d bytes", where, TR_SIGN_FILE_MAX);
        goto done;
    }
    /* One byte more than allowed: a file that grew since fstat is caught too. */
    if ((buf = malloc(TR_SIGN_FILE_MAX + 1)) == NULL) {
        snprintf(err, errlen, "%sout of memory", where);
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf + len, TR_SIGN_FILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s%s", where, strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > TR_SIGN_FILE_MAX) {
            snprintf(err, errlen, "%slarger than %d bytes", where, TR_SIGN_FILE_MAX);
            goto done;
        }
    }
    s = parse(buf, len, where, err, errlen);
done:
    if (buf != NULL) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
    close(fd);
    return s;
}

/* HMAC of the message with context c into mac[HMAC_LEN]. 0 or -1. */
static int hmac_one(EVP_MAC_CTX *c, const char *id, const char *ts, size_t ts_len,
                    const void *body, size_t len, unsigned char *mac)
{
    size_t out_len = 0;
    /* A NULL key restarts the MAC under the key it was given at load. */
    if (EVP_MAC_init(c, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(c, (const unsigned char *)id, strlen(id)) != 1 ||
        EVP_MAC_update(c, (const unsigned char *)".", 1) != 1 ||
        EVP_MAC_update(c, (const unsigned char *)ts, ts_len) != 1 ||
        EVP_MAC_update(c, (const unsigned char *)".", 1) != 1 ||
        (len > 0 && EVP_MAC_update(c, body, len) != 1) ||
        EVP_MAC_final(c, mac, &out_len, HMAC_LEN) != 1 || out_len != HMAC_LEN)
        return -1;
    return 0;
}

int tr_sign_value(tr_sign *s, const char *id, int64_t timestamp_s, const void *body,
                  size_t len, char *out, size_t cap)
{
    char ts[24];
    int ts_len = snprintf(ts, sizeof ts, "%" PRId64, timestamp_s);
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (cap < (size_t)s->n * (TR_SIGN_ONE_LEN + 1))
        return -1;
    size_t w = 0;
    for (int i = 0; i < s->n; i++) {
        unsigned char mac[HMAC_LEN];
        if (hmac_one(s->ctx[i], id, ts, (size_t)ts_len, body, len, mac) != 0) {
            out[0] = '\0';
            return -1;
        }
        if (i > 0)
            out[w++] = ' ';
        memcpy(out + w, "v1,", 3);
        w += 3;
        /* 32 bytes are 44 base64 characters; EVP_EncodeBlock adds the NUL. */
        w += (size_t)EVP_EncodeBlock((unsigned char *)out + w, mac, HMAC_LEN);
    }
    out[w] = '\0';
    return 0;
}

static int id_char_plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':' || c == '-';
}

/* Appends c at out[*w] while there is room (a NUL kept), counting it always. */
static void put_char(char *out, size_t cap, size_t *w, char c)
{
    if (*w + 1 < cap)
        out[*w] = c;
    (*w)++;
}

size_t tr_sign_id(char *out, size_t cap, const char *key, int64_t due_ms, int64_t attempt,
                  int notice)
{
    static const char hex[] = "0123456789ABCDEF";
    char tail[64];
    size_t w = 0;
    for (const char *p = "msg_"; *p != '\0'; p++)
        put_char(out, cap, &w, *p);
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        if (id_char_plain(*p)) {
            put_char(out, cap, &w, (char)*p);
        } else {
            put_char(out, cap, &w, '%');
            put_char(out, cap, &w, hex[*p >> 4]);
            put_char(out, cap, &w, hex[*p & 15]);
        }
    }
    int n = snprintf(tail, sizeof tail, "_%" PRId64 "_%" PRId64 "%s", due_ms, attempt,
                     notice ? "_failure" : "");
    for (int i = 0; i < n; i++)
        put_char(out, cap, &w, tail[i]);
    if (cap > 0)
        out[w < cap ? w : cap - 1] = '\0';
    return w;
}
