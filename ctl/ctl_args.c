/* ctl_args.c - option tables and bounded numbers for timerushctl (ctl_args.h). */
#include "ctl_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_num.h"
#include "tr_rfc3339.h"

/* The table entry named by argv word w ("--name" or "--name=value"), or NULL.
 * *value is set to the text after '=' when there is one, else NULL. */
static const ctl_opt *find_opt(const ctl_opt *opts, const char *w, const char **value)
{
    *value = NULL;
    if (strncmp(w, "--", 2) != 0 || w[2] == '\0')
        return NULL;
    const char *name = w + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    for (const ctl_opt *o = opts; o->name != NULL; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
            if (eq != NULL)
                *value = eq + 1;
            return o;
        }
    }
    return NULL;
}

/* Stores one option found at argv[*i]; advances *i past its value. */
static int store_opt(const ctl_opt *o, const char *inline_value, int argc, char **argv, int *i,
                     char *err, size_t errlen)
{
    if (o->kind == CTL_OPT_FLAG) {
        if (inline_value != NULL) {
            snprintf(err, errlen, "--%s takes no value", o->name);
            return -1;
        }
        *(int *)o->dest = 1;
        return 0;
    }
    const char *v = inline_value;
    if (v == NULL) {
        if (*i + 1 >= argc) {
            snprintf(err, errlen, "--%s needs a value", o->name);
            return -1;
        }
        v = argv[++*i];
    }
    if (o->kind == CTL_OPT_STR) {
        *(const char **)o->dest = v;
        return 0;
    }
    ctl_strlist *l = o->dest;
    if (l->n >= CTL_LIST_MAX) {
        snprintf(err, errlen, "--%s given more than %d times", o->name, CTL_LIST_MAX);
        return -1;
    }
    l->v[l->n++] = v;
    return 0;
}

int ctl_args_take(int argc, char **argv, const ctl_opt *opts, char **rest, int *nrest,
                  char *err, size_t errlen)
{
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                rest[(*nrest)++] = argv[i++];
            break;
        }
        const char *value;
        const ctl_opt *o = find_opt(opts, argv[i], &value);
        if (o == NULL) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        if (store_opt(o, value, argc, argv, &i, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int ctl_args_parse(int argc, char **argv, const ctl_opt *opts, const char **pos, int maxpos,
                   int *npos, char *err, size_t errlen)
{
    *npos = 0;
    int words_only = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (!words_only && strcmp(w, "--") == 0) {
            words_only = 1;
            continue;
        }
        if (!words_only && w[0] == '-' && w[1] != '\0') {
            const char *value;
            const ctl_opt *o = find_opt(opts, w, &value);
            if (o == NULL) {
                snprintf(err, errlen, "unknown option '%s'", w);
                return -1;
            }
            if (store_opt(o, value, argc, argv, &i, err, errlen) != 0)
                return -1;
            continue;
        }
        if (*npos >= maxpos) {
            snprintf(err, errlen, "unexpected argument '%s'", w);
            return -1;
        }
        pos[(*npos)++] = w;
    }
    return 0;
}

int ctl_args_int(const char *name, const char *s, int64_t lo, int64_t hi, int64_t *out,
                 char *err, size_t errlen)
{
    switch (tr_num_parse(s, strlen(s), lo, hi, out)) {
    case TR_NUM_OK:
        return 0;
    case TR_NUM_RANGE:
        snprintf(err, errlen, "--%s: %s is outside %lld..%lld", name, s, (long long)lo,
                 (long long)hi);
        return -1;
    case TR_NUM_SYNTAX:
    default:
        snprintf(err, errlen, "--%s: '%s' is not a whole number", name, s);
        return -1;
    }
}

int ctl_args_seconds(const char *name, const char *s, double lo, double hi, double *out,
                     char *err, size_t errlen)
{
    /* strtod alone would take signs, spaces, hex, "inf" and exponents: check the
     * digits first, then let it convert. */
    int digits = 0, dots = 0, bad = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && dots == 0)
            dots++;
        else
            bad = 1;
    }
    char *end = NULL;
    errno = 0;
    double v = digits > 0 && !bad ? strtod(s, &end) : 0;
    if (digits == 0 || bad || errno != 0 || end == NULL || *end != '\0') {
        snprintf(err, errlen, "--%s: '%s' is not a number of seconds", name, s);
        return -1;
    }
    if (v < lo || v > hi) {
        snprintf(err, errlen, "--%s: %s is outside %g..%g", name, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int ctl_args_time(const char *name, const char *s, int64_t *out_ms, char *err, size_t errlen)
{
    if (tr_num_parse(s, strlen(s), 0, INT64_MAX, out_ms) == TR_NUM_OK)
        return 0;
    if (tr_rfc3339_parse(s, out_ms) == 0)
        return 0; /* the server's own reader: what it would accept, read the same */
    snprintf(err, errlen, "--%s: '%s' is neither epoch ms nor an RFC 3339 time", name, s);
    return -1;
}
