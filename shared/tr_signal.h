/* tr_signal.h - the process signals of timerush-fcgi and timerush-scheduler.
 *
 * SIGTERM and SIGINT ask for a clean stop, SIGHUP for reopening the log, SIGPIPE is
 * ignored (a peer that hung up is an error return, not a death). The handlers only
 * set a flag (a lock-free atomic_int: safe in a handler, and read by any thread,
 * as timerush-fcgi's request threads do); the loops read and clear them. No SA_RESTART:
 * a signal cuts a blocking wait (ppoll, curl_multi_poll) short, so a loop sees the
 * flag at once.
 */
#ifndef TR_SIGNAL_H
#define TR_SIGNAL_H

#include <signal.h>
#include <stdatomic.h>

/* The flags the handlers set. They live in tr_signal.c, one pair per process. */
typedef struct tr_signal_flags {
    atomic_int *stop; /* 1 after SIGTERM or SIGINT */
    atomic_int *hup;  /* 1 after SIGHUP; the loop sets it back to 0 */
} tr_signal_flags;

/* Installs the handlers and ignores SIGPIPE; *flags gets the flags. 0, or -1 with
 * errno set (sigaction failed). */
int tr_signal_install(tr_signal_flags *flags);

/* Blocks SIGTERM, SIGINT and SIGHUP; *wait_mask gets the mask to wait with
 * (ppoll, pselect): the previous one without those three. 0, or -1 with errno. */
int tr_signal_block(sigset_t *wait_mask);

#endif
