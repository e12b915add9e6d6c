/* ctl_conf.h - where timerushctl finds the server and its token.
 *
 * Each setting is taken from the first of: the command line (--url, --token-file),
 * the environment (TIMERUSH_URL; TIMERUSH_TOKEN_FILE, then TIMERUSH_TOKEN), the
 * service's config file, the default (http://127.0.0.1:8080, no token). The config
 * file is the one ./timerush -c and the programs read ("name = value" lines,
 * shared/tr_config.c): --config FILE, else TIMERUSH_CONFIG, else
 * /etc/timerush/timerush.conf; its listen-host and listen-port give the URL, its
 * api-token-file (and api-token) lines the token. It is read only when the command
 * line and the environment leave something unset; the default path may be absent.
 *
 * A token is a secret: it is never taken from argv (ps shows argv to every user),
 * never printed, and wiped by ctl_conf_clear().
 */
#ifndef CTL_CONF_H
#define CTL_CONF_H

#include <stddef.h>

#include "tr_tokens.h"

#define CTL_URL_MAX 2048
#define CTL_DEFAULT_URL "http://127.0.0.1:8080"
#define CTL_DEFAULT_CONFIG "/etc/timerush/timerush.conf"

typedef struct ctl_conf {
    char url[CTL_URL_MAX];         /* base URL, no trailing '/' */
    const char *url_from;          /* "--url", "TIMERUSH_URL", the config path, "default" */
    char token[TR_API_TOKEN_MAX];  /* bearer token, NUL-terminated; empty: none */
    const char *token_from;        /* like url_from; "none" when empty */
    char config_path[CTL_URL_MAX]; /* the config file consulted; empty: none */
} ctl_conf;

/* The names given on the command line (NULL when not given). */
typedef struct ctl_conf_flags {
    const char *url;        /* --url */
    const char *token_file; /* --token-file */
    const char *config;     /* --config */
} ctl_conf_flags;

/* Fills c from the flags, the environment and the config file, in that order of
 * precedence. Returns 0, or -1 with a one-line reason in err: a token file that
 * cannot be read or holds no valid token (tr_token_file_load: a regular file, mode
 * 0600 or stricter), a config file named by --config or TIMERUSH_CONFIG that cannot
 * be read, a bad line in the config file, a URL that is not http:// or https://.
 * c points to nothing the caller owns; ctl_conf_clear() wipes the token. */
int ctl_conf_resolve(ctl_conf *c, const ctl_conf_flags *flags, char *err, size_t errlen);

/* Wipes the token from memory. */
void ctl_conf_clear(ctl_conf *c);

#endif
