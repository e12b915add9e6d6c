/* tr_store_int.h - what the parts of the store share; private to shared/tr_store*.c.
 *
 * tr_store.c owns the connection, the scripts, the one EVALSHA argv builder
 * (call_args), the one script call with its NOSCRIPT retry, and the calls of
 * tr_store.h; tr_store_sched.c holds the claims and the histograms,
 * tr_store_finish.c the delivery outcomes (blocking, or sent now and read later),
 * tr_store_rest.c the REST API's operations, tr_store_group.c the creates of several
 * threads grouped into one call. Nothing outside these files includes
 * this header.
 */
#ifndef TR_STORE_INT_H
#define TR_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"
#include "tr_cluster.h"

enum {
    S_ADD, S_CANCEL, S_CLAIM, S_ACK, S_RETRY, S_DEAD, S_RELEASE, S_EXTEND, S_CREATE, S_GET,
    S_LIST, S_RESCHEDULE, S_REPLAY, S_PAUSE, S_STATS, S_ACK_MANY, S_RECOVER, S_MIGRATE,
    S_COUNT
};

/* Leases reaped per claim at most: bounds the time one script holds Redis. */
#define TR_STORE_REAP_LIMIT 256
/* Creates per create script call at most (a batch is split into calls of this
 * many; a group call carries at most this many). */
#define TR_STORE_CREATE_CHUNK 1000
/* Claimed per call at most, for the same reason. */
#define TR_STORE_CLAIM_MAX 10000

/* "{P:1023}:hist:duration" and the like: the prefix, a shard tag, a suffix. */
#define KEY_MAX (TR_CONFIG_STR_MAX + 32)

enum {
    K_DUE, K_TIMERS, K_INFLIGHT, K_ATTEMPTS, K_META, K_DEAD, K_STATS, K_WAKE, K_PAUSED,
    K_HIST_LATENESS, K_HIST_DURATION, K_OWNER, K_COUNT
};

/* One call of a finish: order[first..first+count) are its items; many: ack_many. */
typedef struct finish_call {
    size_t first, count;
    int many;
} finish_call;

/* A finish sent as one pipeline: its calls in order, answered one reply each. */
typedef struct finish_plan {
    size_t *order;       /* item indexes, singles first then plain acks */
    finish_call *calls;
    size_t ncalls;
} finish_plan;

/* The finish sent by tr_store_finish_send(), its answers not all read yet. */
typedef struct finish_async {
    int active;
    size_t n;               /* items */
    tr_finish_result *res;  /* n results, filled as answers arrive */
    size_t *again;          /* items answered NOSCRIPT (n entries of room) */
    size_t nagain;
    finish_plan plan;
    size_t answered;        /* calls answered so far, <= plan.ncalls */
    int failed;             /* an answer said Redis cannot serve: -1 at the end */
} finish_async;

/* The claim sent by tr_store_claim_send(), its answers not all read yet: one
 * claim script call per shard, call k on shard (first + k) % S for
 * claim_quota(limit, S, k) timers (tr_store_sched.c). */
typedef struct claim_async {
    int active;
    size_t limit;           /* its arguments, to repeat a call after NOSCRIPT */
    int64_t lease_ms;
    char token[TR_CLAIM_TOKEN_MAX];
    int first;              /* the shard of call 0 */
    int ncalls, answered;   /* calls sent, answers read */
    int more;               /* a call was cut by its quota */
    int skipped;            /* calls that failed or were skipped (cut-off only) */
    int failed;             /* 1: an answer was an error (FAILED once all are read);
                             * 2: one was NOSCRIPT (those calls are made again) */
    unsigned char noscript[TR_SHARDS_MAX / 8]; /* bit k: call k answered NOSCRIPT */
    tr_claim_batch acc;     /* the answers so far, merged (owned) */
} claim_async;

struct tr_cluster;
struct tr_store_clq;

struct tr_store {
    const tr_config *cfg;          /* borrowed, outlives the store */
    redisContext *ctx;             /* NULL while disconnected; always NULL with --cluster */
    struct tr_cluster *cl;         /* with --cluster: the client (owned), NULL until the
                                    * first connect; without: NULL */
    struct tr_store_clq *clq;      /* with --cluster: calls appended, sent at the
                                    * pipeline's write, taken in order once answered
                                    * (tr_store_cluster.c); owned */
    int have_sha;                  /* sha[] filled (with --cluster: kept across failures,
                                    * a script's SHA1 is the same on every node) */
    char sha[S_COUNT][41];         /* SCRIPT LOAD answers, valid while ctx is */
    char key[K_COUNT][KEY_MAX];    /* shard `shard`'s "{P}:due" ... ("{P:i}:due" with
                                    * --shards > 1); K_WAKE is the channel */
    int shard;                     /* whose names key[] holds (tr_store_use_shard) */
    int claim_next;                /* the shard the next claim starts with */
    int observe_next;              /* the shard the next histogram write goes to */
    int refused;                   /* Redis holds another --shards: never serve */
    finish_async fa;               /* answers owed on ctx; no other call until read */
    claim_async ca;                /* a claim owed on ctx, behind fa's answers */
    tr_ret err_code;
    char err[256];
    struct tr_store_group *group;  /* borrowed; creates go through it (or NULL) */
    struct tr_store_cut *cut;      /* the scheduler's cut-off on a cluster
                                    * (tr_store_set_cutoff), owned; NULL: off */
};

/* Points key[] at shard `shard`'s names (0..S-1; a no-op when they are already). */
void tr_store_use_shard(tr_store *s, int shard);
/* The current shard's key "<tag>:<suffix>" into buf. 0, or -1 when it does not fit. */
int tr_store_shard_key(const tr_store *s, const char *suffix, char *buf, size_t len);

/* n (1..TR_STORE_CREATE_CHUNK) creates through store->group (tr_store_group.h): waits
 * for the group call that carries them. As tr_store_create. */
int tr_store_group_create(tr_store *store, const tr_create *creates, size_t n,
                          tr_create_result *results, int64_t *due_ms, int64_t *now_ms);

/* The argv of one EVALSHA: EVALSHA sha numkeys, the keys, then the arguments;
 * every string borrowed (numbers are formatted into the struct). Small calls
 * use the room inside (tr_store_args_init); calls with many arguments (create,
 * ack_many) get it from the heap (tr_store_args_init_n) and must be freed with
 * tr_store_args_free (harmless on the small ones). Filled by the tr_store_arg_*
 * calls in the order the script's header lists keys and arguments; overflowing
 * the room is a bug (assert). */
#define ARGV_SMALL 32  /* EVALSHA sha numkeys + 9 keys + 13 args (a stream ack), with room */
#define NUM_SMALL 6
typedef struct call_args {
    int which;                 /* S_* */
    size_t argc, cap;          /* cap: room in argv/len */
    const char **argv;
    size_t *len;
    char (*num)[24];           /* formatted numbers, nnum of numcap used */
    size_t nnum, numcap;
    char nkeys[8];
    const char *argv_small[ARGV_SMALL];
    size_t len_small[ARGV_SMALL];
    char num_small[NUM_SMALL][24];
} call_args;

void tr_store_args_init(call_args *a, int which);
int tr_store_args_init_n(tr_store *s, call_args *a, int which, size_t nargs, size_t nnums);
void tr_store_args_free(call_args *a);
void tr_store_arg_bin(call_args *a, const char *str, size_t len);
void tr_store_arg_str(call_args *a, const char *str);
void tr_store_arg_i64(call_args *a, int64_t v);
void tr_store_arg_keys(call_args *a, const tr_store *s, int nkeys, const int *keys);
/* After tr_store_arg_keys and key names added with tr_store_arg_str (a key made per
 * call, e.g. "{P}:revoked:<token>"): the number of keys in all. */
void tr_store_arg_set_nkeys(call_args *a, size_t nkeys);

/* Runs one script call (connecting first). A NOSCRIPT answer reloads the scripts
 * and repeats the call once. Returns the reply (caller frees; never an error
 * reply), or NULL with the error set. */
redisReply *tr_store_run_script(tr_store *s, call_args *a);
/* Appends the call to the output buffer (no I/O). 0, or -1 (disconnected). */
int tr_store_append_script(tr_store *s, call_args *a, const char *what);
/* Writes the whole output buffer (bounded by --redis-timeout-ms). 0, or -1
 * (disconnected). */
int tr_store_write_out(tr_store *s, const char *what);
/* Reads the next reply of a pipeline, blocking (--redis-timeout-ms). The reply
 * (caller frees; may be an error reply), or NULL when the connection failed
 * (then dropped, error set). */
redisReply *tr_store_read_reply(tr_store *s, const char *what);
/* Takes one owed reply as `mode` allows: DONE with *reply set (caller frees), OWED
 * when it is not in yet, FAILED on I/O failure (nothing done: call
 * tr_store_io_failed). *did_read counts the one read(2) POLL allows across the
 * calls of one _recv. */
tr_store_recv_result tr_store_take_reply(tr_store *s, tr_store_recv_mode mode, int *did_read,
                                         void **reply);

/* Errors, each documented at its definition in tr_store.c. */
void tr_store_set_error(tr_store *s, tr_ret code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_store_disconnect(tr_store *s);
void tr_store_io_failed(tr_store *s, const char *what);
void tr_store_reply_failed(tr_store *s, const char *what, const redisReply *r);
int tr_store_bad_reply(tr_store *s, const char *name, const redisReply *r);
void tr_store_unexpected(tr_store *s, const char *name, const redisReply *r);
int tr_store_is_noscript(const redisReply *r);
int tr_store_load_scripts(tr_store *s);

/* Whether r is an array of exactly strlen(shape) elements, each of the type its
 * letter in `shape` allows: 'i' integer, 's' string, 'a' array, 'I' integer or
 * nil, 'S' string or nil. tr_store_elems_shape checks e[0..strlen(shape)) only. */
int tr_store_reply_shape(const redisReply *r, const char *shape);
int tr_store_elems_shape(redisReply *const *e, const char *shape);

void tr_store_plan_free(finish_plan *p);
void tr_store_async_clear(finish_async *fa);

/* The name of script `which` (an S_* value), for messages. */
const char *tr_store_script_name(int which);
/* The Lua source of the variant s runs (one Redis or a cluster: tr_store.c),
 * NUL-terminated, static. */
const char *tr_store_script_source(const tr_store *s, int which);
/* 1 for the scripts that change nothing (get, list, stats): a lost answer leaves
 * nothing in doubt, so they may be resent. */
int tr_store_read_only(int which);
/* 1 while the store is connected (or, on a cluster, has its client and scripts). */
int tr_store_connected(const tr_store *s);
/* A plain command (no script) routed by `route` (a key of the slot it touches; on one
 * Redis ignored). The reply (caller frees; may be an error reply), or NULL with the
 * error set (on one Redis, disconnected). idempotent: resent on a cluster when the
 * answer was lost. */
redisReply *tr_store_command(tr_store *s, const char *route, int argc, const char **argv,
                             int idempotent);

/* ---- tr_store_cluster.c: the store on Redis Cluster (--cluster) ----
 * Each returns NULL/-1 with the store's error set from the client's: TR_RET_STORE_DOWN
 * (not run), TR_RET_OUTCOME_UNKNOWN (may have run), TR_RET_INTERNAL. */
/* Makes s->cl (loads the slot map) when there is none. 0 or -1. */
int tr_store_cl_connect(tr_store *s);
/* Drops the queued calls and frees the client. */
void tr_store_cl_free(tr_store *s);
/* Drops the queued calls (their answers are lost, as on a lost connection). */
void tr_store_cl_drop(tr_store *s);
/* 1 while calls are queued (sent or not, answered or not, until taken). */
int tr_store_cl_pending(const tr_store *s);
/* Queues a copy of the call (args_finish'ed). 0, or -1 (out of memory). */
int tr_store_cl_queue(tr_store *s, const call_args *a);
/* Sends every queued call not sent yet (the cut-off's verdicts applied), pipelined
 * per master, as one batch of the client's (or behind the one in flight). */
void tr_store_cl_start(tr_store *s);
/* Takes the oldest queued call's answer (sending it first if it was not): DONE with
 * *reply (caller frees; may be the script's error reply), FAILED (the store's error
 * says why; the call is gone), or OWED while it is not in (mode as for a _recv). */
tr_store_recv_result tr_store_cl_take(tr_store *s, tr_store_recv_mode mode, redisReply **reply);
/* The sockets of the masters owing answers (tr_cluster_fds). */
size_t tr_store_cl_fds(const tr_store *s, int *fds, size_t max);
/* ms until a take must be tried without a readable socket (0: now), -1: never. */
int64_t tr_store_cl_recv_in_ms(const tr_store *s);
/* Runs one call now. As tr_store_cl_next. */
redisReply *tr_store_cl_script(tr_store *s, const call_args *a);
/* One plain command routed by `route`. As tr_store_command. */
redisReply *tr_store_cl_command(tr_store *s, const char *route, int argc, const char **argv,
                                unsigned idempotent);
/* n commands of argc arguments each (argv: n * argc strings, command i's from i * argc),
 * all on route's slot, in one pipeline; replies[0..n) (caller frees each). 0 or -1. */
int tr_store_cl_pipeline(tr_store *s, const char *route, size_t n, int argc,
                         const char *const *argv, redisReply **replies);

/* ---- tr_store_cutoff.c: the scheduler's cut-off on a cluster (tr_store_set_cutoff) ----
 * Masters given up for now (their shards' calls fail at once until a retry time,
 * then one call probes them; a master short of --wait-replicas' replicas is probed
 * by tr_store_cut_probe instead) and the claim tokens owed a recovery per shard.
 * Every call is a no-op (or CALL) while the cut-off is off. */
typedef struct tr_store_cut_node {
    char host[TR_CLUSTER_HOST_MAX];
    int port;                      /* 0: the map names no master */
} tr_store_cut_node;

typedef enum tr_store_cut_verdict {
    TR_STORE_CUT_CALL,  /* the master is not given up: call as usual */
    TR_STORE_CUT_PROBE, /* given up, its retry time has come: one try (TR_CLUSTER_ONE_TRY) */
    TR_STORE_CUT_SKIP   /* given up: fail at once, nothing sent */
} tr_store_cut_verdict;

int tr_store_cut_on(const tr_store *s);
/* The verdict for a call routed by route (len bytes); *node: its master per the map
 * now, to pass to tr_store_cut_result after the call. */
tr_store_cut_verdict tr_store_cut_check(tr_store *s, const char *route, size_t len,
                                        tr_store_cut_node *node);
/* Sets the store's error for a call `what` skipped (TR_RET_STORE_DOWN: not run). */
void tr_store_cut_skipped(tr_store *s, const char *what, const tr_store_cut_node *node);
/* After a call to node: TR_RET_OK (it answered: back, if it was given up), or the
 * client's failure code (STORE_DOWN / OUTCOME_UNKNOWN give it up or push its retry
 * back; why: the failure, for the one log line). */
void tr_store_cut_result(tr_store *s, const tr_store_cut_node *node, tr_ret code,
                         const char *why);
/* After writes to node answered but its WAIT confirmed only `got` of --wait-replicas'
 * replicas (fed before the batch's tr_store_cut_result OK, which would take a silent
 * master back): gives it up for its replicas (logged once), or pushes its retry back.
 * No call goes to it then (CUT_SKIP) until tr_store_cut_probe finds them in sync. */
void tr_store_cut_unconfirmed(tr_store *s, const tr_store_cut_node *node, long long got);
/* Asks each master given up for its replicas whose retry time has come whether
 * enough are in sync now (INFO replication, then WAIT N 1: about one round trip
 * each, blocking) and takes it back when they are (logged once), else pushes its
 * retry back. Does nothing while the client has a batch in flight (the question
 * would wait for the batch's answers): call it before a batch's sends. */
void tr_store_cut_probe(tr_store *s);
/* Forgets the masters no shard maps to any more (a replica took over), logging it. */
void tr_store_cut_sweep(tr_store *s);
/* A claim under token may have run on shard without its answer: recover it there
 * once its master answers (tr_store_sched.c does, before claiming). */
void tr_store_cut_owe(tr_store *s, int shard, const char *token);
/* The tokens owed on shard (up to max; borrowed until the next change) ... */
size_t tr_store_cut_owed(const tr_store *s, int shard, const char **tokens, size_t max);
/* ... and, once recovered, their removal (the first n of that shard). */
void tr_store_cut_paid(tr_store *s, int shard, size_t n);
int tr_store_cut_any_owed(const tr_store *s);
/* tr_store_set_cutoff's revoke_ms. */
int64_t tr_store_cut_revoke_ms(const tr_store *s);

#endif
