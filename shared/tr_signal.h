/* tr_signal.h - the process signals of timerush-fcgi and timerush-scheduler.
 *
 * SIGTERM and SIGINT ask for a clean stop, SIGHUP for reopening the log, SIGPIPE is
 * ignored (a peer that hung up is an error return, not a death). The handlers only
 * set a volatile sig_atomic_t flag; the loops read and clear them. No SA_RESTART:
 * a signal cuts a blocking wait (ppoll, curl_multi_poll) short, so a loop sees the
 * flag at once.
 */
#ifndef TR_SIGNAL_H
#define TR_SIGNAL_H

#include <signal.h>

/* The flags the handlers set. They live in tr_signal.c, one pair per process. */
typedef struct tr_signal_flags {
    volatile sig_atomic_t *stop; /* 1 after SIGTERM or SIGINT */
    volatile sig_atomic_t *hup;  /* 1 after SIGHUP; the loop sets it back to 0 */
} tr_signal_flags;

/* Installs the handlers and ignores SIGPIPE; *flags gets the flags. 0, or -1 with
 * errno set (sigaction failed). */
int tr_signal_install(tr_signal_flags *flags);

/* Blocks SIGTERM, SIGINT and SIGHUP; *wait_mask gets the mask to wait with
 * (ppoll, pselect): the previous one without those three. 0, or -1 with errno. */
int tr_signal_block(sigset_t *wait_mask);

#endif
