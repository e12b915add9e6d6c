/* ctl_cmd.h - what every subcommand of timerushctl gets, and the subcommands.
 *
 * A subcommand is a function of the context and its own arguments (argv[0] is its
 * name; the global options are already taken out). It prints its result on stdout,
 * its errors on stderr, and returns a ctl_exit code.
 */
#ifndef CTL_CMD_H
#define CTL_CMD_H

#include "ctl_exit.h"
#include "ctl_http.h"

typedef struct ctl_ctx {
    ctl_http *http;     /* owned by main() */
    const char *url;    /* the server's base URL, for messages */
    const char *prog;   /* "timerushctl", for messages */
    int json;           /* --json: print the API's JSON instead of tables */
    int stdout_tty;     /* stdout is a terminal (top clears the screen only then) */
} ctl_ctx;

typedef int (*ctl_cmd_fn)(ctl_ctx *ctx, int argc, char **argv);

/* ctl_timers.c */
int ctl_cmd_create(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_get(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_cancel(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_reschedule(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_replay(ctl_ctx *ctx, int argc, char **argv);
/* DELETE every key of argv[1..]; check_dead: only timers that are dead (dead delete,
 * exit 4 for a live one). The exit code is the first failure's. */
int ctl_cmd_delete_keys(ctl_ctx *ctx, int argc, char **argv, int check_dead);
/* ctl_list.c: ls, and dead ls (dead_only: --state is dead and cannot be changed) */
int ctl_cmd_ls(ctl_ctx *ctx, int argc, char **argv);
int ctl_list_run(ctl_ctx *ctx, int argc, char **argv, int dead_only);
/* ctl_dead.c */
int ctl_cmd_dead(ctl_ctx *ctx, int argc, char **argv);
/* ctl_admin.c */
int ctl_cmd_pause(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_resume(ctl_ctx *ctx, int argc, char **argv);
int ctl_cmd_stats(ctl_ctx *ctx, int argc, char **argv);
/* ctl_top.c */
int ctl_cmd_top(ctl_ctx *ctx, int argc, char **argv);

/* Prints "PROG CMD: msg" on stderr and returns CTL_EXIT_USAGE (for a bad argument). */
int ctl_usage_error(const ctl_ctx *ctx, const char *cmd, const char *msg);

#endif
