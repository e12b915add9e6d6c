/* tr_outcome.h - what one delivery's result means for its timer.
 *
 * Turns a finished transfer into one tr_finish (ACK, ACK with a chained timer,
 * RETRY with a back-off delay, or DEAD after --max-attempts), logs it by key, counts
 * it, and queues it in the pending list for the round's single tr_store_finish().
 * Strings handed to the pending list are copied there; nothing here keeps state.
 */
#ifndef TR_OUTCOME_H
#define TR_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

#include "tr_backoff.h"
#include "tr_config.h"
#include "tr_deliver.h"
#include "tr_pending.h"
#include "tr_sched_stats.h"

/* The meta JSON kept with a failed timer:
 * {"due":<firing due ms>,"attempts":<n>,"status":<http status or 0>,"error":"<text>",
 *  "at":<wall ms>}. Sets *out (malloc'd, NUL-terminated; caller frees). 0 or -1. */
int tr_outcome_meta(int64_t fire_due_ms, int64_t attempt, long status, const char *error,
                    int64_t at_wall_ms, char **out);

/* The due time of the firing a claim belongs to: "due" from its meta JSON (set by
 * an earlier failure of the same firing), else claim_due_ms. */
int64_t tr_outcome_fire_due(const char *meta, size_t meta_len, int64_t claim_due_ms);

/* Decides a finished transfer (result, status and body filled by tr_deliver) and
 * queues the outcome. 0, or -1 when it could not be queued (out of memory: the
 * timer comes back when its lease runs out). */
int tr_outcome_finished(const tr_config *cfg, tr_rng *rng, const tr_xfer *x, tr_pending *p,
                        tr_sched_stats *st);

/* A delivery that failed before or without an HTTP answer worth parsing: RETRY
 * with back-off (no sooner than retry_after_ms when >= 0), or DEAD once attempt
 * reached --max-attempts. 0 or -1 as above. */
int tr_outcome_failed(const tr_config *cfg, tr_rng *rng, const char *id, int64_t attempt,
                      int64_t fire_due_ms, long status, const char *error,
                      int64_t retry_after_ms, tr_pending *p, tr_sched_stats *st);

/* DEAD at once, whatever the attempt (a record that cannot be decoded). 0 or -1. */
int tr_outcome_dead(const char *id, int64_t attempt, int64_t fire_due_ms, const char *error,
                    tr_pending *p, tr_sched_stats *st);

#endif
