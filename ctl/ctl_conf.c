/* ctl_conf.c - the server URL and token of timerushctl (ctl_conf.h). */
#include "ctl_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tr_mem.h"
#include "tr_num.h"

/* What the config file gave: a URL from listen-host/listen-port, tokens. */
typedef struct file_settings {
    char host[256]; /* a DNS name is at most 253 bytes */
    char port[16];
    tr_api_token tokens[TR_API_TOKENS_MAX];
    int token_count;
} file_settings;

static int check_url(const char *url, char *err, size_t errlen)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "URL '%s' must start with http:// or https://", url);
        return -1;
    }
    if (strlen(url) >= CTL_URL_MAX) {
        snprintf(err, errlen, "URL longer than %d bytes", CTL_URL_MAX - 1);
        return -1;
    }
    return 0;
}

static void set_url(ctl_conf *c, const char *url, const char *from)
{
    snprintf(c->url, sizeof c->url, "%s", url);
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    c->url_from = from;
}

/* The token with the most of the read, write and admin scopes (the first of equals):
 * the service's own token file may hold several, a metrics-only one among them. */
static const tr_api_token *best_token(const tr_api_token *list, int n)
{
    const tr_api_token *best = NULL;
    int best_score = -1;
    for (int i = 0; i < n; i++) {
        unsigned s = list[i].scopes & TR_SCOPE_API;
        int score = (s & TR_SCOPE_READ ? 1 : 0) + (s & TR_SCOPE_WRITE ? 1 : 0) +
                    (s & TR_SCOPE_ADMIN ? 1 : 0);
        if (score > best_score) {
            best = &list[i];
            best_score = score;
        }
    }
    return best;
}

static int load_token_file(ctl_conf *c, const char *path, const char *from, char *err,
                           size_t errlen)
{
    tr_api_token list[TR_API_TOKENS_MAX];
    int n = 0;
    char msg[512];
    int rc = 0;
    if (tr_token_file_load(path, list, &n, TR_API_TOKENS_MAX, msg, sizeof msg) != 0) {
        snprintf(err, errlen, "token file (%s): %s", from, msg);
        rc = -1;
    } else {
        snprintf(c->token, sizeof c->token, "%s", best_token(list, n)->token);
        c->token_from = from;
    }
    explicit_bzero(list, sizeof list);
    return rc;
}

/* Reads the config file's listen-host, listen-port, api-token-file and api-token
 * lines into fs; other options are the programs' business (they validate them). */
static int read_config(const char *path, file_settings *fs, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "config %s: %s", path, strerror(errno));
        return -1;
    }
    char line[CTL_URL_MAX + 128];
    int lineno = 0, rc = 0;
    for (;;) {
        char *s;
        int got = tr_line_next(f, line, sizeof line, &lineno, &s);
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "config %s: read error", path);
                rc = -1;
            }
            break;
        }
        char *eq = got > 0 ? strchr(s, '=') : NULL;
        if (eq == NULL) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno,
                     got < 0 ? "line too long" : "expected 'name = value'");
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *name = tr_str_trim(s), *value = tr_str_trim(eq + 1);
        char msg[512];
        if (strcmp(name, "listen-host") == 0) {
            if ((size_t)snprintf(fs->host, sizeof fs->host, "%s", value) >= sizeof fs->host) {
                snprintf(err, errlen, "%s:%d: listen-host too long", path, lineno);
                rc = -1;
                break;
            }
        } else if (strcmp(name, "listen-port") == 0) {
            int64_t port;
            if (tr_num_parse(value, strlen(value), 1, 65535, &port) != TR_NUM_OK) {
                snprintf(err, errlen, "%s:%d: listen-port must be 1..65535", path, lineno);
                rc = -1;
                break;
            }
            snprintf(fs->port, sizeof fs->port, "%lld", (long long)port);
        } else if (strcmp(name, "api-token-file") == 0) {
            if (tr_token_file_load(value, fs->tokens, &fs->token_count, TR_API_TOKENS_MAX, msg,
                                   sizeof msg) != 0) {
                snprintf(err, errlen, "%s:%d: api-token-file: %s", path, lineno, msg);
                rc = -1;
                break;
            }
        } else if (strcmp(name, "api-token") == 0) {
            if (fs->token_count >= TR_API_TOKENS_MAX ||
                tr_token_parse(value, &fs->tokens[fs->token_count], msg, sizeof msg) != 0) {
                snprintf(err, errlen, "%s:%d: api-token: %s", path, lineno,
                         fs->token_count >= TR_API_TOKENS_MAX ? "too many tokens" : msg);
                rc = -1;
                break;
            }
            fs->token_count++;
        }
    }
    explicit_bzero(line, sizeof line);
    fclose(f);
    return rc;
}

/* The URL nginx answers on, from listen-host/listen-port: a wildcard address is
 * reached on loopback, an IPv6 literal goes in brackets. */
static void url_from_listen(const file_settings *fs, char *out, size_t len)
{
    const char *host = fs->host[0] != '\0' ? fs->host : "127.0.0.1";
    const char *port = fs->port[0] != '\0' ? fs->port : "8080";
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0 || strcmp(host, "[::]") == 0)
        host = "::1";
    int v6 = strchr(host, ':') != NULL && host[0] != '[';
    snprintf(out, len, "http://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

int ctl_conf_resolve(ctl_conf *c, const ctl_conf_flags *flags, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->token_from = "none";
    const char *v;
    if (flags->url != NULL)
        set_url(c, flags->url, "--url");
    else if ((v = env_nonempty("TIMERUSH_URL")) != NULL)
        set_url(c, v, "TIMERUSH_URL");

    if (flags->token_file != NULL) {
        if (load_token_file(c, flags->token_file, "--token-file", err, errlen) != 0)
            return -1;
    } else if ((v = env_nonempty("TIMERUSH_TOKEN_FILE")) != NULL) {
        if (load_token_file(c, v, "TIMERUSH_TOKEN_FILE", err, errlen) != 0)
            return -1;
    } else if ((v = env_nonempty("TIMERUSH_TOKEN")) != NULL) {
        tr_api_token t;
        char msg[256];
        if (tr_token_parse(v, &t, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "TIMERUSH_TOKEN: %s", msg);
            return -1;
        }
        snprintf(c->token, sizeof c->token, "%s", t.token);
        c->token_from = "TIMERUSH_TOKEN";
        explicit_bzero(&t, sizeof t);
    }

    if (c->url_from == NULL || c->token[0] == '\0') {
        const char *path = flags->config;
        int named = 1;
        if (path == NULL)
            path = env_nonempty("TIMERUSH_CONFIG");
        if (path == NULL) {
            path = CTL_DEFAULT_CONFIG;
            named = 0;
        }
        snprintf(c->config_path, sizeof c->config_path, "%s", path);
        file_settings *fs = calloc(1, sizeof *fs);
        if (fs == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int rc = 0;
        /* The default file is optional: absent, or root's alone on a client machine,
         * it gives nothing and the defaults apply. A file asked for must be read. */
        if (!named && access(path, R_OK) != 0) {
            c->config_path[0] = '\0';
        } else if (read_config(path, fs, err, errlen) != 0) {
            rc = -1;
        } else {
            if (c->url_from == NULL && (fs->host[0] != '\0' || fs->port[0] != '\0')) {
                char url[CTL_URL_MAX];
                url_from_listen(fs, url, sizeof url);
                set_url(c, url, c->config_path);
            }
            if (c->token[0] == '\0' && fs->token_count > 0) {
                snprintf(c->token, sizeof c->token, "%s",
                         best_token(fs->tokens, fs->token_count)->token);
                c->token_from = c->config_path;
            }
        }
        explicit_bzero(fs, sizeof *fs);
        free(fs);
        if (rc != 0)
            return -1;
    }
    if (c->url_from == NULL)
        set_url(c, CTL_DEFAULT_URL, "default");
    return check_url(c->url, err, errlen);
}

void ctl_conf_clear(ctl_conf *c)
{
    explicit_bzero(c->token, sizeof c->token);
}
