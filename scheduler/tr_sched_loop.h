/* tr_sched_loop.h - the scheduler's main loop: claim due timers up to the free
 * delivery slots, deliver them with tr_deliver, write the outcomes, sleep until the
 * next due time or a wake-up, ride out Redis outages, drain on SIGTERM.
 * docs/SCHEDULER.md explains the loop, its clock mapping and its guarantees.
 */
#ifndef TR_SCHED_LOOP_H
#define TR_SCHED_LOOP_H

#include <stdatomic.h>
#include <signal.h>

#include "tr_config.h"
#include "tr_sign.h"

/* The flags the signal handlers set; the loop reads and clears them. */
typedef struct tr_sched_flags {
    atomic_int *stop; /* SIGTERM/SIGINT: drain and return */
    atomic_int *hup;  /* SIGHUP: reopen the log, reload the signing secrets */
} tr_sched_flags;

/* Runs until *flags.stop is set and the drain is over. cfg must be valid (from
 * tr_config_parse) and curl_global_init() done. signer (NULL: callbacks unsigned)
 * holds the secrets of cfg->signing_secret_file, loaded by the caller so a bad file
 * stops the program before it runs; it becomes the loop's, which reloads it on
 * SIGHUP and frees it (also on failure). Returns 0 after a clean stop, -1 when it
 * could not start or libcurl failed beyond repair (logged). Frees everything it
 * made before returning. */
int tr_sched_run(const tr_config *cfg, tr_sched_flags flags, tr_sign *signer);

#endif
