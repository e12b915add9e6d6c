#include "tr_tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tr_mem.h"

#define LINE_MAX_BYTES (TR_API_TOKEN_MAX + 64) /* a token, its scopes, spaces */

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"read", TR_SCOPE_READ},
    {"write", TR_SCOPE_WRITE},
    {"admin", TR_SCOPE_ADMIN},
    {"metrics", TR_SCOPE_METRICS},
};

int tr_token_is_b64token(const char *text, size_t len)
{
    size_t i = 0;
    for (; i < len; i++) {
        char c = text[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok)
            break;
    }
    if (i == 0)
        return 0; /* 1*( ALPHA / DIGIT / ... ) before any '=' */
    for (; i < len; i++)
        if (text[i] != '=')
            return 0;
    return 1;
}

/* The scope list text[0..len) ("read,write") into *bits. 0, or -1 with err set. */
static int parse_scopes(const char *text, size_t len, unsigned *bits, char *err, size_t errlen)
{
    *bits = 0;
    size_t start = 0;
    while (start <= len) {
        const char *comma = memchr(text + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - text) : len;
        size_t n = end - start;
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof scope_names / sizeof scope_names[0]; k++)
            if (strlen(scope_names[k].name) == n && memcmp(text + start, scope_names[k].name, n) == 0)
                bit = scope_names[k].bit;
        if (bit == 0) {
            if (n == 0)
                snprintf(err, errlen, "empty scope before the ':' (scopes: read, write, admin, "
                                      "metrics, joined with ',')");
            else
                snprintf(err, errlen, "unknown scope '%.*s' (scopes: read, write, admin, metrics)",
                         (int)(n > 32 ? 32 : n), text + start);
            return -1;
        }
        *bits |= bit;
        start = end + 1;
    }
    return 0;
}

int tr_token_parse(const char *text, tr_api_token *out, char *err, size_t errlen)
{
    size_t len = strlen(text);
    size_t blank = strspn(text, " \t\r\n\v\f");
    if (blank == len) {
        snprintf(err, errlen, "an empty or whitespace-only token (it would turn authentication "
                              "off): give a token, or leave the option out");
        return -1;
    }
    const char *colon = strchr(text, ':');
    unsigned scopes = TR_SCOPE_API;
    const char *tok = text;
    if (colon != NULL) {
        if (parse_scopes(text, (size_t)(colon - text), &scopes, err, errlen) != 0)
            return -1;
        tok = colon + 1;
    }
    size_t tl = strlen(tok);
    if (tl == 0 || strspn(tok, " \t\r\n\v\f") == tl) {
        snprintf(err, errlen, "an empty or whitespace-only token after the scopes");
        return -1;
    }
    if (tl >= TR_API_TOKEN_MAX) {
        snprintf(err, errlen, "a token longer than %d bytes", TR_API_TOKEN_MAX - 1);
        return -1;
    }
    if (!tr_token_is_b64token(tok, tl)) {
        snprintf(err, errlen, "a token may hold only A-Z a-z 0-9 - . _ ~ + / and trailing = "
                              "(an RFC 6750 bearer token; scopes go before one ':')");
        return -1;
    }
    /* All of *out written: a token parsed into a stack copy must not carry its
     * bytes past the NUL (fuzz_config compares whole configurations). */
    memset(out, 0, sizeof *out);
    memcpy(out->token, tok, tl + 1);
    out->scopes = scopes;
    return 0;
}

int tr_token_file_load(const char *path, tr_api_token *list, int *count, int max, char *err,
                       size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    /* Checked on the open file, so a swap after the check changes nothing. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen, "%s: group or others may access it (mode %03o): chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    char line[LINE_MAX_BYTES];
    int lineno = 0, n = *count, rc = 0;
    for (;;) {
        char *s; /* '#' is in no token nor scope, so a comment cuts none */
        int got = tr_line_next(f, line, sizeof line, &lineno, &s);
        if (got == 0)
            break;
        if (got < 0) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        if (n >= max) {
            snprintf(err, errlen, "%s:%d: more than %d tokens in all", path, lineno, max);
            rc = -1;
            break;
        }
        char why[256];
        if (tr_token_parse(s, &list[n], why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
        n++;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    if (rc == 0 && n == *count) {
        snprintf(err, errlen, "%s: holds no token", path);
        rc = -1;
    }
    /* The line buffer held a token: do not leave it on the stack. */
    explicit_bzero(line, sizeof line);
    fclose(f);
    if (rc != 0) {
        for (int i = *count; i < n; i++)
            explicit_bzero(&list[i], sizeof list[i]);
        return -1;
    }
    *count = n;
    return 0;
}
