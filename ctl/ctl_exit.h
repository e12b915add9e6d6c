/* ctl_exit.h - the exit codes of timerushctl, one meaning each (docs/CLI.md).
 *
 * Every subcommand returns one of these; main() exits with it. A script can tell a
 * typo (2) from a server that is down (3), a key that is gone (4) and a token that is
 * wrong (5) without reading the message.
 */
#ifndef CTL_EXIT_H
#define CTL_EXIT_H

typedef enum ctl_exit {
    CTL_EXIT_OK = 0,        /* done */
    CTL_EXIT_SERVER = 1,    /* the server answered an error (its message printed), or an
                             * answer that is not what the API documents */
    CTL_EXIT_USAGE = 2,     /* bad command line, unreadable token or config file */
    CTL_EXIT_CONNECT = 3,   /* cannot connect, or no answer before --timeout */
    CTL_EXIT_NOT_FOUND = 4, /* HTTP 404: unknown timer (or not dead, for replay) */
    CTL_EXIT_AUTH = 5,      /* HTTP 401 or 403: no valid token, or one without the scope */
} ctl_exit;

#endif
