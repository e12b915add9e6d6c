/* tr_outcome.h - what one delivery's result means for its timer.
 *
 * Turns a finished transfer into one tr_finish (ACK, ACK with a chained timer,
 * RETRY with a back-off delay, or DEAD after the last attempt), logs it by key,
 * counts it, and queues it in the pending list for the round's single
 * tr_store_finish(). For a REST timer it applies the timer's own policy (attempts,
 * back-off bounds), carries the next firing of a recurring timer
 * (repeat_record/repeat_at_ms, tr_repeat.h) on its ACK or DEAD, and attaches a
 * failure notice to a DEAD when the timer has a failure_url.
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

/* What the decisions need; all borrowed. */
typedef struct tr_outcome_ctx {
    const tr_config *cfg;
    tr_rng *rng;
    tr_pending *pending;
    tr_sched_stats *st;
    int64_t redis_now_ms;  /* the Redis clock now (next firings are computed from it) */
} tr_outcome_ctx;

/* A timer's effective delivery policy: its own values, the options where it has none. */
typedef struct tr_outcome_policy {
    int64_t max_attempts, min_backoff_ms, max_backoff_ms, timeout_ms;
} tr_outcome_policy;

/* Fills *out from spec->policy (spec may be NULL) and cfg. */
void tr_outcome_policy_of(const tr_config *cfg, const tr_timer_spec *spec, tr_outcome_policy *out);

/* The meta JSON kept with a failed timer:
 * {"due":<firing due ms>,"attempts":<n>,"status":<http status or 0>,"error":"<text>",
 *  "at":<wall ms>}. Sets *out (malloc'd, NUL-terminated; caller frees). 0 or -1. */
int tr_outcome_meta(int64_t fire_due_ms, int64_t attempt, long status, const char *error,
                    int64_t at_wall_ms, char **out);

/* The body of a failure notice (POSTed to failure_url with X-TimeRush-Failure: 1):
 * {"key":..,"url":..,"data":"<body as sent>","attempts":n,"last_status":n,
 *  "last_error":"..","due_ms":n}. Sets *out (malloc'd, NUL-terminated, *out_len
 * bytes; caller frees). 0 or -1 (out of memory). */
int tr_outcome_failure_body(const char *id, const tr_timer_spec *spec, int64_t attempts,
                            long status, const char *error, int64_t fire_due_ms, char **out,
                            size_t *out_len);

/* The due time of the firing a claim belongs to: "due" from its meta JSON (set by
 * an earlier failure of the same firing), else claim_due_ms. */
int64_t tr_outcome_fire_due(const char *meta, size_t meta_len, int64_t claim_due_ms);

/* Decides a finished transfer (result, status and body filled by tr_deliver) and
 * queues the outcome. 0, or -1 when it could not be queued (out of memory: the
 * timer comes back when its lease runs out). */
int tr_outcome_finished(const tr_outcome_ctx *c, const tr_xfer *x);

/* A delivery that failed before or without an HTTP answer worth parsing: RETRY
 * with back-off (no sooner than retry_after_ms when >= 0), or DEAD once attempt
 * reached the policy's max attempts. spec is the decoded timer (NULL when it could
 * not be decoded: the options apply, no repeat, no notice). 0 or -1 as above. */
int tr_outcome_failed(const tr_outcome_ctx *c, const char *id, const char *token,
                      const tr_timer_spec *spec, int64_t attempt, int64_t fire_due_ms,
                      long status, const char *error, int64_t retry_after_ms);

/* DEAD at once, whatever the attempt (a record that cannot be decoded). 0 or -1.
 * token (here and above) is the claim's: the outcome's fence. */
int tr_outcome_dead(const tr_outcome_ctx *c, const char *id, const char *token,
                    int64_t attempt, int64_t fire_due_ms, const char *error);

/* Fills the repeat fields of *f (an ACK or DEAD of the firing due at fire_due_ms)
 * when spec is a recurring timer whose series goes on: f->repeat_record points to
 * *record (malloc'd here; caller frees it after queueing, also when NULL).
 * Logs the next firing or why the series ends. 0, or -1 when out of memory (then
 * nothing must be queued: the timer returns after its lease, rather than ending
 * its series by mistake). */
int tr_outcome_repeat(const tr_outcome_ctx *c, const char *id, const tr_timer_spec *spec,
                      int64_t fire_due_ms, tr_finish *f, char **record);

#endif
