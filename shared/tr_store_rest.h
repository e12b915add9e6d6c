/* tr_store_rest.h - the store calls of the REST API (/v1/): create, read, list,
 * reschedule, replay, cancel with the state, pause, stats, ping.
 *
 * Ownership: inputs are borrowed for the call; a tr_timer_view owns its strings
 * (tr_timer_view_clear() frees them), a list's array is the caller's to free.
 * Implemented by tr_store_rest.c.
 */
#ifndef TR_STORE_REST_H
#define TR_STORE_REST_H

#include <stddef.h>
#include <stdint.h>

#include "tr_store.h"

/* Where a timer is. */
typedef enum tr_timer_state {
    TR_STATE_NONE = 0,      /* unknown */
    TR_STATE_PENDING = 1,   /* in {P}:due */
    TR_STATE_IN_FLIGHT = 2, /* in {P}:inflight */
    TR_STATE_DEAD = 3       /* in {P}:dead */
} tr_timer_state;

/* "pending", "in_flight", "dead" ("unknown" for NONE). Static strings. */
const char *tr_timer_state_name(tr_timer_state state);

/* Like tr_store_cancel(), and *state says where the timer was (NONE: unknown). */
int tr_store_cancel_state(tr_store *store, const char *id, int64_t *ttl_ms,
                          tr_timer_state *state);

/* Which timers a cancel may remove: what the caller's token allows (dead ones
 * need the admin scope, the others write; docs/SECURITY.md). */
typedef enum tr_cancel_scope {
    TR_CANCEL_ANY = 0,  /* every state */
    TR_CANCEL_LIVE = 1, /* pending or in flight; a dead timer is kept */
    TR_CANCEL_DEAD = 2  /* dead only; a pending or in-flight one is kept */
} tr_cancel_scope;

/* Like tr_store_cancel_state(), removing only what `scope` allows, decided in the
 * same atomic call: a timer kept for that answers *ttl_ms -2 with its *state. */
int tr_store_cancel_scoped(tr_store *store, const char *id, tr_cancel_scope scope,
                           int64_t *ttl_ms, tr_timer_state *state);

/* One idempotent create. Strings borrowed for the call. */
typedef struct tr_create {
    const char *id;
    const char *record;
    size_t record_len;
    int64_t delay_ms;   /* from Redis's now (>= 0), used when at_ms < 0 */
    int64_t at_ms;      /* epoch ms on the Redis clock, or -1; in the past: now */
} tr_create;

typedef enum tr_create_result {
    TR_CREATE_NEW = 0,       /* stored */
    TR_CREATE_SAME = 1,      /* id exists with the same record (fired count aside) */
    TR_CREATE_CONFLICT = 2   /* id exists with another record */
} tr_create_result;

/* Applies n creates with one script call per 1000 (one round trip for a batch
 * of up to 1000; one TIME, one wake message). results[i] and due_ms[i] (-1 when
 * the existing timer is in flight or dead) are set for each; *now_ms: Redis TIME
 * of the (last) call, rounded up like due times. 0, or -1 on failure (then some
 * may have been stored; repeating is safe: they answer TR_CREATE_SAME). */
int tr_store_create(tr_store *store, const tr_create *items, size_t n,
                    tr_create_result *results, int64_t *due_ms, int64_t *now_ms);

/* A timer as stored, for answers. Owns its strings; tr_timer_view_clear(). */
typedef struct tr_timer_view {
    char *id;              /* NUL-terminated */
    tr_timer_state state;
    int64_t now_ms;        /* Redis TIME when read */
    int64_t score_ms;      /* pending: due; in flight: lease deadline; dead: dead at */
    int64_t attempts;      /* deliveries started (0 before the first) */
    char *record;          /* record_len bytes + NUL */
    size_t record_len;
    char *meta;            /* meta_len bytes + NUL; NULL before any failure */
    size_t meta_len;
} tr_timer_view;

void tr_timer_view_clear(tr_timer_view *view); /* frees, zeroes; safe on zeroed, NULL */

/* What tr_store_get() found. */
typedef enum tr_store_get_result {
    TR_STORE_GET_FAILED = -1,
    TR_STORE_GET_FOUND = 0,  /* *out filled: clear it with tr_timer_view_clear() */
    TR_STORE_GET_UNKNOWN = 1 /* no such timer (*out zeroed but now_ms) */
} tr_store_get_result;

/* Reads one timer. */
tr_store_get_result tr_store_get(tr_store *store, const char *id, tr_timer_view *out);

/* One page of pending (dead == 0, by due time) or dead (by dead time) timers, in
 * (score, id) order, strictly after (after_score, after_id) when after_id is not
 * NULL. Up to `limit` (1..1000) into *out (caller frees each with
 * tr_timer_view_clear() and the array with free()), *n set. limit up to 1001
 * (one more than a page, to learn whether another page follows). 0 or -1. */
int tr_store_list(tr_store *store, int dead, int64_t after_score, const char *after_id,
                  size_t limit, tr_timer_view **out, size_t *n);

/* What tr_store_reschedule() did. */
typedef enum tr_store_reschedule_result {
    TR_STORE_RESCHEDULE_FAILED = -1,
    TR_STORE_RESCHEDULE_DONE = 0,       /* *due_ms set */
    TR_STORE_RESCHEDULE_UNKNOWN = 1,    /* no such timer */
    TR_STORE_RESCHEDULE_NOT_PENDING = 2 /* in flight or dead: unchanged */
} tr_store_reschedule_result;

/* A pending timer due at a new time (delay_ms from now, or at_ms when >= 0). */
tr_store_reschedule_result tr_store_reschedule(tr_store *store, const char *id,
                                               int64_t delay_ms, int64_t at_ms,
                                               int64_t *due_ms);

/* What tr_store_replay() did. */
typedef enum tr_store_replay_result {
    TR_STORE_REPLAY_FAILED = -1,
    TR_STORE_REPLAY_DONE = 0,    /* due now again (*due_ms), attempts reset */
    TR_STORE_REPLAY_NOT_DEAD = 1 /* unknown or not dead: unchanged */
} tr_store_replay_result;

/* A dead timer due now again, attempts reset. */
tr_store_replay_result tr_store_replay(tr_store *store, const char *id, int64_t *due_ms);

/* Sets (1) or clears (0) {P}:paused; clearing wakes the schedulers. 0 or -1. */
int tr_store_set_paused(tr_store *store, int paused);

/* Counters of {P}:stats, in this order (tr_store_stats_names). */
#define TR_STATS_COUNT 14
extern const char *const tr_store_stats_names[TR_STATS_COUNT];

/* The Redis Cluster client's counters (tr_cluster_stats) of every process, kept in
 * the shards' stats hashes as "cluster_<name>" (shared/tr_store_cluster.c writes
 * them), in this order (tr_store_cluster_names): moved, ask, retries, map_loads,
 * script_loads, connects. */
#define TR_CLUSTER_COUNTERS 6
extern const char *const tr_store_cluster_names[TR_CLUSTER_COUNTERS];

typedef struct tr_store_stats {
    int64_t pending, in_flight, dead;   /* ZCARDs */
    int paused;
    int64_t totals[TR_STATS_COUNT];     /* by tr_store_stats_names */
    int on_cluster;                     /* --cluster: cluster[] below is meaningful */
    int64_t cluster[TR_CLUSTER_COUNTERS]; /* by tr_store_cluster_names, summed */
    /* with_hist: per-bucket counts (not cumulative), then sum and count */
    uint64_t lateness[TR_HIST_BUCKETS + 1], duration[TR_HIST_BUCKETS + 1];
    int64_t lateness_sum_ms, duration_sum_ms;
    uint64_t lateness_count, duration_count;
} tr_store_stats;

/* Fills *out without scanning (ZCARD, EXISTS, HGETALL). 0 or -1. */
int tr_store_get_stats(tr_store *store, int with_hist, tr_store_stats *out);

/* PING on the store's connection: 0 when Redis answers, -1 otherwise. */
int tr_store_ping(tr_store *store);

#endif
