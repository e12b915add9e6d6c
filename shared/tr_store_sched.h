/* tr_store_sched.h - the store calls the scheduler makes: claim due timers, write
 * the outcomes of their deliveries, add to the histograms.
 *
 * Each call exists blocking (tr_store_claim, tr_store_finish) and, for a loop
 * that polls, in two steps: _send writes the command now, _recv reads the answer
 * when a socket of tr_store_fds() is readable (one Redis: tr_store_fd(); a
 * cluster: each master's, the calls pipelined per master). The connection carries one claim and one finish
 * outstanding at most; until their answers are read, every other call on the
 * store fails (TR_RET_INTERNAL). A claim may be sent behind an outstanding finish
 * (pipelined: the finish's answers are read first).
 *
 * Ownership: a tr_claim_batch owns its items (tr_claim_batch_clear() frees them);
 * a tr_finish borrows its strings for the call, and for a _send until its _recv
 * (the same outcomes, at the same indexes, must be passed to the _recv).
 * Implemented by tr_store_sched.c (claim, fd, observe) and tr_store_finish.c.
 */
#ifndef TR_STORE_SCHED_H
#define TR_STORE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "tr_store.h"

/* How far a _recv call may go to get its answer. */
typedef enum tr_store_recv_mode {
    TR_STORE_RECV_BUFFERED = -1, /* no read(2): only what an earlier read brought */
    TR_STORE_RECV_POLL = 0,      /* at most one read(2) (on a cluster one per master
                                  * whose socket is readable): call it when a socket of
                                  * tr_store_fds() is readable; never blocks */
    TR_STORE_RECV_BLOCK = 1      /* blocks (--redis-timeout-ms) until it is all in */
} tr_store_recv_mode;

/* What a _recv call found. */
typedef enum tr_store_recv_result {
    TR_STORE_RECV_FAILED = -1, /* failed: nothing outstanding any more (send again once
                                * connected); tr_store_error() says why */
    TR_STORE_RECV_OWED = 0,    /* the answer is not all in yet: call again */
    TR_STORE_RECV_DONE = 1     /* answered: the results are filled */
} tr_store_recv_result;

/* ---- Claims ---- */

/* Every claim carries a token, chosen by the scheduler and unique to that claim
 * (tr_claim_token.h makes them: "<scheduler id>/<incarnation>/<sequence>"). The
 * store keeps {P}:owner[id] = "<first due>:<token>" while the claim holds a timer,
 * and applies an outcome only under the token that claimed it (the fence): a
 * late outcome of a claim that lost its timer (cancelled, re-created under the
 * same key, claimed again after its lease) is stale, counted in {P}:stats "stale",
 * and changes nothing. Longest token, NUL included: */
#define TR_CLAIM_TOKEN_MAX 128

/* One claimed timer. Strings are owned by the batch. */
typedef struct tr_claimed {
    char *id;            /* NUL-terminated */
    int64_t due_ms;      /* when this delivery was due: the timer's due time (the retry
                          * time for a retry); for a redelivery after a lease ran out
                          * or a release, the due time of the try it repeats */
    int64_t attempt;     /* 1 for the first delivery */
    char *record;        /* record_len bytes, NUL-terminated */
    size_t record_len;
    char *meta;          /* meta_len bytes, NUL-terminated; NULL before any failure */
    size_t meta_len;
} tr_claimed;

typedef struct tr_claim_batch {
    int64_t now_ms;      /* Redis TIME when the claim ran */
    int paused;          /* 1 while deliveries are paused ({P}:paused): nothing claimed */
    int more;            /* with --shards > 1: a shard's part of the limit was filled,
                          * or a shard asked for none (limit < S) has due timers: more
                          * may be due even when count < limit */
    int64_t next_ms;     /* earliest due time or lease deadline left, -1 when none */
    size_t count;
    tr_claimed *items;   /* count items, owned */
} tr_claim_batch;

/* Frees the items and zeroes the batch. Safe on a zeroed batch. */
void tr_claim_batch_clear(tr_claim_batch *batch);

/* Atomically: returns leases that ran out to {P}:due (the reaper), then moves up
 * to `limit` due timers (score <= now) into {P}:inflight with deadline now +
 * lease_ms under `token` (copied), increments their attempts, and returns them.
 * A token revoked by tr_store_recover_tokens() claims nothing. Fills *out (clear
 * it with tr_claim_batch_clear() even after -1). 0 or -1. */
int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, const char *token,
                   tr_claim_batch *out);

/* The same claim in two steps. tr_store_claim_send(): 0, or -1 (nothing
 * outstanding). tr_store_claim_recv() fills *out (clear it with
 * tr_claim_batch_clear() whatever the result); it answers OWED while a finish
 * sent before it is owed (read that first), FAILED when none is outstanding or
 * it failed: the claim may still run in Redis, so give its token to
 * tr_store_recover_tokens() once connected again. */
int tr_store_claim_send(tr_store *store, size_t limit, int64_t lease_ms, const char *token);
tr_store_recv_result tr_store_claim_recv(tr_store *store, tr_claim_batch *out,
                                         tr_store_recv_mode mode);
int tr_store_claim_outstanding(const tr_store *store); /* 1 when a claim is owed */

/* A claim whose answer was lost (it failed after it was sent) may have run, or may
 * still run when Redis gets to it: revokes each of tokens[0..n) for revoke_ms (a
 * claim under it run later claims nothing) and gives back at once what they hold
 * (due again now, the attempt undone, the first due time kept). *released: how
 * many. One round trip. 0 or -1 (keep the tokens and try again once connected). */
int tr_store_recover_tokens(tr_store *store, const char *const *tokens, size_t n,
                            int64_t revoke_ms, int64_t *released);

/* Gives back what every claim token starting with `prefix` holds, except tokens
 * starting with `keep`: a restarted scheduler returns its previous incarnation's
 * timers (prefix "<id>/", keep "<id>/<incarnation>/") instead of letting them wait
 * for their leases. *released: how many. 0 or -1. */
int tr_store_recover_prefix(tr_store *store, const char *prefix, const char *keep,
                            int64_t *released);

/* ---- The upgrade ---- */

/* Moves up to `count` records written by an older version (all in the one hash
 * {P}:timers) into their buckets (migrate.lua; docs/DATA_MODEL.md); *moved: how
 * many this call moved, *left: those still in the old hash, 0 once it is gone. Every script also reads the
 * old hash while it exists, so this only frees memory; one call is one atomic
 * script. 0 or -1. */
int tr_store_migrate(tr_store *store, size_t count, int64_t *moved, int64_t *left);

/* Redis's hash-max-listpack-value: a record bucket stays compact only while every
 * record in it is at most that long (docs/OPERATIONS.md). 0 with *value set; -1
 * when Redis does not say (CONFIG disabled or renamed, an older Redis). */
int tr_store_listpack_value(tr_store *store, int64_t *value);

/* ---- Outcomes ---- */

typedef enum tr_finish_kind {
    TR_FINISH_ACK = 0,     /* delivered: remove it, optionally create a chained timer */
    TR_FINISH_RETRY = 1,   /* failed: due again delay_ms from now, meta stored */
    TR_FINISH_DEAD = 2,    /* failed for the last time: into {P}:dead, meta stored */
    TR_FINISH_RELEASE = 3, /* not delivered (shutdown): due again at once, attempt undone */
    TR_FINISH_EXTEND = 4,  /* still delivering: lease deadline moved to delay_ms from now */
    TR_FINISH_HOLD = 5     /* not delivered, its destination cannot take it now: due
                            * again delay_ms from now, attempt undone, first due kept */
} tr_finish_kind;

/* The outcome of one delivery. Strings are borrowed (see above). */
typedef struct tr_finish {
    tr_finish_kind kind;
    const char *id;
    const char *token;           /* the claim's token: the outcome applies only while
                                  * that claim holds the timer (else STALE) */
    int64_t attempt;             /* from the claim (logs and the failure meta) */
    int64_t delay_ms;            /* RETRY, HOLD, EXTEND: from Redis's now */
    const char *meta;            /* RETRY/DEAD: JSON kept with the timer, e.g.
                                  * {"due":..,"attempts":..,"status":..,"error":".."} */
    const char *chain_id;        /* ACK: the chained timer's key, or NULL for none */
    const char *chain_record;    /* ACK: its record */
    size_t chain_record_len;
    int64_t chain_delay_ms;      /* ACK: its delay from Redis's now, > 0 */
    const char *chain_dead_meta; /* ACK with a chain: NULL to schedule it; else the
                                  * chained timer was refused by the destination policy
                                  * and goes into {P}:dead with this meta (counted in
                                  * the "chain_refused" stat) */
    const char *repeat_record;   /* ACK/DEAD of a recurring timer's firing, when not
                                  * NULL: the id stays, due again at repeat_at_ms (Redis
                                  * clock) with this as its record (fired count updated)
                                  * and attempts reset; DEAD then stores meta and counts
                                  * "dead" but does not enter {P}:dead */
    int64_t repeat_at_ms;
    size_t repeat_record_len;
    const char *stream;          /* ACK of a redis-stream:// delivery: the stream name
                                  * (tr_url.h rules), or NULL. The ack script XADDs
                                  * {P}:stream:<name> MAXLEN ~ --stream-maxlen with
                                  * fields key (id), attempt, due_ms (stream_due_ms),
                                  * data (stream_data) under the same fence, in the
                                  * same call: never written when the ack is stale. A
                                  * key that holds no stream puts the timer in {P}:dead
                                  * instead (the answer is still APPLIED; logged) */
    const char *stream_data;
    size_t stream_data_len;
    int64_t stream_due_ms;
} tr_finish;

/* What became of one outcome. */
typedef enum tr_finish_result {
    TR_FINISH_REFUSED = -1, /* never applicable: a malformed item (unknown kind, no id,
                             * no token, a chain without a record) or one Redis
                             * answered with an error that is not "cannot serve
                             * now"; logged, not applied (the timer returns after
                             * its lease) */
    TR_FINISH_STALE = 0,    /* the claim no longer holds the timer: cancelled (maybe
                             * re-created), claimed again after its lease, or this
                             * outcome was applied already */
    TR_FINISH_APPLIED = 1,
    TR_FINISH_UNWRITTEN = 2 /* with the cut-off (tr_store_set_cutoff): its shard's master
                             * did not answer, or is given up for now; not known to be
                             * applied: keep it and write it again later (it may have
                             * been applied: a second write is then STALE) */
} tr_finish_result;

/* ---- Cut-off (Redis Cluster) ---- */

/* revoke_ms > 0 turns it on, 0 off. On, the scheduler's calls (claim, finish,
 * recover) stop waiting for a master that does not answer (docs/CLUSTER.md, "A
 * scheduler that loses one node"): a claim skips the shards of a master given up
 * for now and returns what the others gave (FAILED only when none answered); a
 * claim call that may have run unanswered has its token recovered (revoked for
 * revoke_ms) on that shard once its master answers; a finish answers
 * TR_FINISH_UNWRITTEN for the outcomes of those shards and applies the others. The
 * REST API's calls are unchanged; on one Redis nothing changes. 0, or -1 (out of
 * memory). */
int tr_store_set_cutoff(tr_store *store, int64_t revoke_ms);

/* Milliseconds until a master given up is tried again (0: now), -1 when none is. */
int64_t tr_store_cutoff_retry_ms(const tr_store *store);

/* 1 when the cut-off has given master host:port up for not answering (stopped,
 * killed, cut off; not one given up only because its replicas fall short), else 0.
 * For the scheduler's wake line, which leaves such a master alone meanwhile. */
int tr_store_cut_silent(const tr_store *store, const char *host, int port);

/* Applies n outcomes in one pipelined round trip (plain acks - no chain, no
 * repeat - of the round go together in one script call, after the others).
 * results[i] says what became of items[i]; a refused one never holds back the
 * others. Returns 0 when every answer arrived; -1 on failure (Redis unreachable
 * or unable to serve), and then no result is known: keep the outcomes and call
 * again once connected (each is safe to apply twice). With the cut-off on, a
 * call that failed answers its outcomes TR_FINISH_UNWRITTEN instead (0 returned). */
int tr_store_finish(tr_store *store, const tr_finish *items, size_t n,
                    tr_finish_result *results);

/* The same finish in two steps. tr_store_finish_send() writes the whole pipeline
 * for items[0..n) and returns 0, or -1 (nothing outstanding; keep the outcomes and
 * send again later). tr_store_finish_recv() takes the answers that arrived:
 * `items` must hold the same n outcomes at the same indexes (the array may have
 * moved), `results` n entries, filled when it answers DONE (as tr_store_finish()).
 * FAILED: as tr_store_finish()'s -1 (no result known, nothing outstanding).
 * With the cut-off on, as tr_store_finish(): the outcomes of a master that did not
 * answer are TR_FINISH_UNWRITTEN (DONE), and a claim sent behind keeps its calls. */
int tr_store_finish_send(tr_store *store, const tr_finish *items, size_t n);
tr_store_recv_result tr_store_finish_recv(tr_store *store, const tr_finish *items,
                                          tr_finish_result *results,
                                          tr_store_recv_mode mode);
int tr_store_finish_outstanding(const tr_store *store); /* 1 when a finish is owed */

/* The socket to poll for reading while a claim or finish is owed, on one Redis (-1
 * when disconnected, and always on a cluster: see tr_store_fds). */
int tr_store_fd(const tr_store *store);

/* The sockets to poll for reading while a claim or finish is owed: on one Redis
 * tr_store_fd()'s, on a cluster (--cluster) those of the masters that owe answers
 * (the calls are written at _send there too, one pipeline per master). Fills
 * fds[0..max) and returns how many there are (more than max: poll those, and call
 * the _recv again within a few ms). A _recv in TR_STORE_RECV_POLL mode makes at most
 * one read(2) per socket and only on those readable then, so any may be polled. */
#define TR_STORE_FDS_MAX 32
size_t tr_store_fds(const tr_store *store, int *fds, size_t max);

/* While a claim or finish is owed: in how many ms a _recv (POLL) must be called even
 * if no socket became readable (0: now; -1: only when one is). On a cluster, a
 * master that owes answers and sent nothing for --redis-timeout-ms is given up by
 * that call (its calls as lost after writing: the cut-off's rules apply), and an
 * answer may be in already (a master given up for now: the call was skipped). -1 on
 * one Redis (its socket's timeout bounds it when read blocking). */
int64_t tr_store_recv_in_ms(const tr_store *store);

/* 1 when the store runs on Redis Cluster (--cluster): each claim and finish is then a
 * call per shard, grouped per master. */
int tr_store_on_cluster(const tr_store *store);

/* ---- The cluster client ---- */

/* The store's Redis Cluster client (--cluster), connected first when it was not;
 * borrowed: valid until tr_store_free(). For the store's own thread to send calls
 * that are no store call (the stream notifier's writes, tr_notify_cstream.h), so a
 * process keeps one slot map, one connection per master and one set of counters.
 * NULL on one Redis, or when no seed answered (tr_store_error() says why). */
struct tr_cluster *tr_store_cluster(tr_store *store);

/* ---- Histograms ---- */

/* Adds a round's observations to {P}:hist:<name> ("lateness" or "duration"):
 * counts[i] observations <= tr_hist_bounds_ms[i] and above the previous bound,
 * counts[TR_HIST_BUCKETS] above the last; sum_ms and count added too. Stored as
 * per-bucket (not cumulative) counts. One round trip. 0 or -1. */
int tr_store_observe(tr_store *store, const char *name,
                     const uint64_t counts[TR_HIST_BUCKETS + 1], int64_t sum_ms,
                     uint64_t count);

#endif
