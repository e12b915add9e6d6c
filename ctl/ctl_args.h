/* ctl_args.h - command-line options of timerushctl: a table per command, and numbers
 * parsed with bounds.
 *
 * Options are "--name VALUE", "--name=VALUE" or a flag "--name". The global options
 * (--url, --json, ...) may stand anywhere, before or after the subcommand, so they
 * are taken out first (ctl_args_take) and what is left goes to the subcommand's own
 * table (ctl_args_parse). Values point into argv: nothing here allocates.
 */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include <stddef.h>
#include <stdint.h>

#define CTL_LIST_MAX 32 /* values of one repeatable option (--header) */

typedef enum ctl_opt_kind {
    CTL_OPT_FLAG, /* dest is int *: set to 1 */
    CTL_OPT_STR,  /* dest is const char **: the value (the last one given wins) */
    CTL_OPT_LIST, /* dest is ctl_strlist *: every value, in order */
} ctl_opt_kind;

typedef struct ctl_strlist {
    const char *v[CTL_LIST_MAX]; /* point into argv */
    int n;
} ctl_strlist;

typedef struct ctl_opt {
    const char *name; /* without the leading "--"; NULL ends a table */
    ctl_opt_kind kind;
    void *dest;
} ctl_opt;

/* Takes the options of `opts` out of argv[0..argc): the others, and every word, are
 * copied in order to rest[0..*nrest) (rest has room for argc entries). A "--" and all
 * after it go to rest untouched. Returns 0, or -1 with a one-line reason in err (a
 * value missing, a flag given a value, a list over CTL_LIST_MAX). */
int ctl_args_take(int argc, char **argv, const ctl_opt *opts, char **rest, int *nrest,
                  char *err, size_t errlen);

/* A subcommand's arguments: the options of `opts` and at most maxpos positional words
 * (into pos[0..*npos)). An option not in the table, or too many words: -1 with a reason
 * in err. After "--" every word is positional. */
int ctl_args_parse(int argc, char **argv, const ctl_opt *opts, const char **pos, int maxpos,
                   int *npos, char *err, size_t errlen);

/* Decimal integer in [lo, hi] (shared/tr_num.h: digits only, a '-' when lo < 0).
 * 0, or -1 with "--name: ..." in err. */
int ctl_args_int(const char *name, const char *s, int64_t lo, int64_t hi, int64_t *out,
                 char *err, size_t errlen);

/* A decimal number of seconds such as 1, 0.5 or 2.25, in [lo, hi]: digits with at
 * most one '.', no sign or exponent. 0, or -1 with a reason in err. */
int ctl_args_seconds(const char *name, const char *s, double lo, double hi, double *out,
                     char *err, size_t errlen);

/* A point in time: epoch ms (digits), or RFC 3339 with seconds, an optional fraction
 * and Z or a +hh:mm/-hh:mm offset ("2026-12-24T18:00:00Z", "2026-12-24T19:00:00.5+01:00").
 * 0 with *out_ms, or -1 with "--name: ..." in err. */
int ctl_args_time(const char *name, const char *s, int64_t *out_ms, char *err, size_t errlen);

#endif
