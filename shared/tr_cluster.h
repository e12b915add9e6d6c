/* tr_cluster.h - a thin Redis Cluster client over hiredis 0.14 (which has none).
 *
 * What it owns: the seed list, the slot map (16384 slots -> the master serving each,
 * from CLUSTER SLOTS), and one blocking hiredis connection per master, made lazily on
 * first use and authenticated (AUTH [user] password) on every connect. Callers name a
 * key; the handle finds its slot (CRC16-XMODEM of the key or of its {hash tag}, mod
 * 16384, as the Redis Cluster specification says), sends the command to that slot's
 * master and follows the cluster's answers:
 *   -MOVED slot host:port   the slot lives elsewhere for good: the map entry is set at
 *                           once, the whole map is reloaded, the command is resent there;
 *   -ASK slot host:port     one key of a slot being migrated is already on the target:
 *                           ASKING then the command, once, on that node; map unchanged;
 *   -TRYAGAIN, -CLUSTERDOWN, a connect failure, or a connection lost before the
 *                           command was completely written: back-off, map reload, resend,
 *                           a bounded number of times (tr_cluster_opts).
 * A connection lost AFTER the command was written is not resent (it may have run):
 * the call fails with TR_RET_OUTCOME_UNKNOWN, unless the caller says the command is
 * idempotent (TR_CLUSTER_IDEMPOTENT). Idle connections closed by the server are found
 * before use (tr_redis_is_stale) and reopened, so that case does not arise from them.
 *
 * Errors: a failing call returns NULL (or -1) and leaves a code and a one-line message
 * in the handle (tr_cluster_err / tr_cluster_errstr), valid until the next call. Error
 * replies that are the command's own (WRONGTYPE, a script's error, ...) are returned as
 * replies of type REDIS_REPLY_ERROR, as hiredis does: the caller checks reply->type.
 * The password never appears in a message.
 *
 * Not thread-safe: one handle per thread, as with a redisContext. Callers run with
 * SIGPIPE ignored (tr_redis.h says why). tr_cluster_run pipelines a batch of calls
 * per master (the scheduler's claim over every shard, a finish), blocking; the same
 * batch in steps (tr_cluster_append ... tr_cluster_recv) lets a caller poll for the
 * answers. Sharded pub/sub is designed in docs/CLUSTER.md.
 */
#ifndef TR_CLUSTER_H
#define TR_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "tr_error.h"

#define TR_CLUSTER_SLOTS 16384
#define TR_CLUSTER_HOST_MAX 256 /* longest host name or address kept, NUL included */

/* The key's hash slot, 0..16383: CRC16-XMODEM (poly 0x1021, init 0) of the key, or,
 * when the key holds a '{' followed later by a '}' with at least one byte between
 * them, of the bytes between the first '{' and the first '}' after it. key need not
 * be NUL-terminated; len 0 is slot 0. */
unsigned tr_cluster_keyslot(const char *key, size_t len);

/* What -MOVED / -ASK error text says. */
typedef enum tr_cluster_redirect_kind {
    TR_CLUSTER_REDIRECT_NONE = 0, /* not a redirection, or malformed */
    TR_CLUSTER_REDIRECT_MOVED,
    TR_CLUSTER_REDIRECT_ASK
} tr_cluster_redirect_kind;

typedef struct tr_cluster_redirect {
    tr_cluster_redirect_kind kind;
    unsigned slot;                     /* 0..16383 */
    char host[TR_CLUSTER_HOST_MAX];    /* NUL-terminated; "" when Redis sent none (the
                                        * endpoint is the node that answered) */
    int port;                          /* 1..65535 */
} tr_cluster_redirect;

/* Parses an error reply's text (`msg`, len bytes, not NUL-terminated) of the form
 * "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>"; the port is after the
 * last ':' so IPv6 addresses pass. Fills *out and returns its kind; anything else
 * (another error, a slot over 16383, a bad port, a host too long) gives
 * TR_CLUSTER_REDIRECT_NONE with *out's kind NONE. */
tr_cluster_redirect_kind tr_cluster_parse_redirect(const char *msg, size_t len,
                                                   tr_cluster_redirect *out);

/* 0 when `seeds` is a list tr_cluster_new() takes: "host:port[,host:port...]", each
 * host non-empty and under TR_CLUSTER_HOST_MAX bytes, each port 1..65535 (the port is
 * after the last ':', so "::1:7000" is IPv6). Else -1 and a one-line reason in err.
 * For --check: nothing is contacted. */
int tr_cluster_seeds_check(const char *seeds, char *err, size_t errlen);

/* Called by tr_cluster_seeds_each for each seed: host is hostlen bytes (not
 * NUL-terminated, borrowed), port 1..65535. 0, or -1 with a reason in err (stops). */
typedef int (*tr_cluster_seed_fn)(void *arg, const char *host, size_t hostlen, int port,
                                  char *err, size_t errlen);

/* Reads `seeds` as tr_cluster_seeds_check does and calls fn (NULL: none) for each
 * seed in order. 0, or -1 with a one-line reason in err. */
int tr_cluster_seeds_each(const char *seeds, tr_cluster_seed_fn fn, void *arg, char *err,
                          size_t errlen);

/* How to reach the cluster. Strings are copied by tr_cluster_new(). */
typedef struct tr_cluster_opts {
    const char *seeds;     /* "host:port[,host:port...]" (--cluster); at least one */
    const char *user;      /* ACL user for AUTH, NULL or "" for the default user */
    const char *password;  /* AUTH password, NULL or "" for none; never logged */
    int timeout_ms;        /* connect and per-command timeout, ms (> 0) */
    int max_attempts;      /* sends of one command before giving up (redirections and
                            * retries together), >= 1; 0 means the default, 8 (with
                            * the default back-off: about 2.3 s of pauses at most) */
    int backoff_ms;        /* first retry pause, doubled on each retry up to
                            * backoff_max_ms; 0 means 20 */
    int backoff_max_ms;    /* 0 means 1000 */
} tr_cluster_opts;

typedef struct tr_cluster tr_cluster;

/* Parses the seeds and loads the slot map from the first seed that answers
 * CLUSTER SLOTS. Returns the handle (caller frees with tr_cluster_free()), or NULL
 * with *code (TR_RET_STORE_DOWN: no seed answered, or the seeds are malformed, or
 * AUTH was refused; TR_RET_INTERNAL: out of memory) and a one-line reason in err. */
tr_cluster *tr_cluster_new(const tr_cluster_opts *opts, tr_ret *code, char *err,
                           size_t errlen);

/* Closes every connection and frees the handle. NULL is fine. */
void tr_cluster_free(tr_cluster *c);

/* Reloads the slot map from any known master or seed (the first that answers).
 * 0, or -1 with the handle's error set (the old map is kept). */
int tr_cluster_refresh(tr_cluster *c);

/* Flags for the calls below (a bit mask). */
#define TR_CLUSTER_IDEMPOTENT 1u /* resend also when the answer was lost after the
                                  * command was written (GET, a read-only script) */
#define TR_CLUSTER_ONE_TRY 2u    /* no retry: a command or pipeline that could not be
                                  * sent (a refused or failed connect, TRYAGAIN,
                                  * CLUSTERDOWN, no master) fails at once, after one map
                                  * reload so the next call finds a promoted replica;
                                  * redirections are still followed. For probing a
                                  * master given up for now (the scheduler's cut-off,
                                  * docs/CLUSTER.md). A new connection is made without
                                  * blocking: connect, then AUTH (PING without a
                                  * password), waited for a few ms at most; one not
                                  * answered by then fails the call (TR_RET_STORE_DOWN,
                                  * not sent) and is kept for the next call to the node
                                  * (made anew after max(5 s, the timeout)), so a node
                                  * that accepts connections but does not answer
                                  * (stopped) costs a probe a few ms, not the timeout */
#define TR_CLUSTER_FAIL_FAST 4u  /* a master that cannot be reached (a refused or failed
                                  * connect, a connection lost before the command was
                                  * completely written) fails the call at once
                                  * (TR_RET_STORE_DOWN, not run), after one map reload
                                  * not asking that node; TRYAGAIN, CLUSTERDOWN, no
                                  * master and redirections keep their retries. For a
                                  * caller that gives such a master up instead of
                                  * waiting (the scheduler's cut-off) */

/* Sends argv (argc arguments, argvlen[i] bytes each; argvlen NULL: NUL-terminated)
 * to the master of key's slot (key, keylen bytes: the routing key, usually one of
 * argv) and returns its reply, following redirections and retrying as described
 * above. The reply belongs to the caller (freeReplyObject()); it may be an error
 * reply of the command's own. NULL when no answer could be had: tr_cluster_err()
 * says TR_RET_STORE_DOWN (not run), TR_RET_OUTCOME_UNKNOWN (may have run) or
 * TR_RET_INTERNAL (out of memory, or too many redirections). */
redisReply *tr_cluster_command(tr_cluster *c, const char *key, size_t keylen, int argc,
                               const char **argv, const size_t *argvlen, unsigned flags);

/* EVALSHA routed by its first key: argv is the whole command, "EVALSHA" sha numkeys
 * key... arg... with numkeys >= 1 (argv[3] routes). On -NOSCRIPT from a node, loads
 * `script` (NUL-terminated Lua whose SHA1 is argv[1]) there with SCRIPT LOAD, checks
 * the hash Redis answers equals argv[1], and resends once. Scripts are thus loaded
 * per node, on demand: a node added or promoted later learns them on first use.
 * Ownership and errors as tr_cluster_command(). */
redisReply *tr_cluster_evalsha(tr_cluster *c, const char *script, int argc,
                               const char **argv, const size_t *argvlen, unsigned flags);

/* One command of a pipeline. */
typedef struct tr_cluster_cmd {
    int argc;
    const char **argv;
    const size_t *argvlen;   /* NULL: NUL-terminated arguments */
} tr_cluster_cmd;

/* A pipeline for ONE slot (in TimeRush: one shard, one {hash tag}): every command
 * of cmds[0..n-1] must touch only keys of key's slot. They are written to that
 * slot's master together, then the n replies read in order into replies[0..n-1]
 * (each owned by the caller, freeReplyObject()). A command answered -MOVED/-ASK
 * (the slot moved part way) or -TRYAGAIN is resent alone through
 * tr_cluster_command() with `flags`, in order, so replies[] always holds the final
 * answer of each. Returns 0, or -1 with the handle's error set and every replies[i]
 * NULL (those already read are freed): a lost connection after writing gives
 * TR_RET_OUTCOME_UNKNOWN (some may have run) unless flags has TR_CLUSTER_IDEMPOTENT,
 * in which case the whole pipeline is resent. Pipelines over several slots of one
 * node are a caller's loop over slots for now (docs/CLUSTER.md). */
int tr_cluster_pipeline(tr_cluster *c, const char *key, size_t keylen, size_t n,
                        const tr_cluster_cmd *cmds, redisReply **replies, unsigned flags);

/* One call of tr_cluster_run: any command, routed by its own key. */
typedef struct tr_cluster_call {
    const char *key;         /* the routing key (keylen bytes), usually one of argv */
    size_t keylen;
    int argc;
    const char **argv;
    const size_t *argvlen;   /* NULL: NUL-terminated arguments */
    const char *script;      /* EVALSHA's Lua source (argv[1] is its SHA1): -NOSCRIPT
                              * loads it there as tr_cluster_evalsha does; NULL for a
                              * plain command */
    unsigned flags;          /* TR_CLUSTER_IDEMPOTENT, TR_CLUSTER_ONE_TRY,
                              * TR_CLUSTER_FAIL_FAST */
} tr_cluster_call;

/* What one call of tr_cluster_run gave. */
typedef struct tr_cluster_answer {
    redisReply *reply;       /* the caller's (freeReplyObject()); may be an error reply
                              * of the command's own; NULL when the call failed */
    tr_ret err;              /* TR_RET_OK, or as tr_cluster_err() after a failed call */
    char errstr[256];        /* "" or the failure, as tr_cluster_errstr() */
} tr_cluster_answer;

/* Runs calls[0..n-1], each on the master of its own key's slot (any slots, any
 * masters), pipelined per master: every call is appended to its master's
 * connection, every master's output written before any answer is read, then the
 * answers read in call order, so a batch over M masters costs about one round trip
 * instead of n. An answer that is -MOVED/-ASK/-TRYAGAIN/-CLUSTERDOWN (-NOSCRIPT for
 * a script), a call not sent (no master, a failed connect, a write that failed on
 * the only command of a connection) and, when idempotent, one whose answer was lost,
 * is run again alone through the routing above (tr_cluster_command /
 * tr_cluster_evalsha, with the call's flags), after the first pass and in call order,
 * so the calls run again of one slot keep their order (a call that ran the first time
 * is not repeated: as after NOSCRIPT in a pipeline on one Redis). A master whose
 * connection failed is not tried again for the other calls of the same run: they fail
 * at once with that failure. A lost answer of a call that is not idempotent fails it
 * with TR_RET_OUTCOME_UNKNOWN (it may have run). answers[i] is calls[i]'s. Returns 0
 * when every call has a reply, -1 when one or more failed (the handle's error is the
 * first failure's; the others' replies stand). With n == 1 it is tr_cluster_command /
 * tr_cluster_evalsha. */
int tr_cluster_run(tr_cluster *c, size_t n, const tr_cluster_call *calls,
                   tr_cluster_answer *answers);

/* The same, in steps, for a caller that polls (the scheduler's claim and finish):
 * a batch of calls in flight, one per handle, that the handle's other calls wait
 * for (any blocking call, tr_cluster_run included, first takes every answer the
 * batch owes, blocking).
 *
 * tr_cluster_append() appends call to its master's connection (no I/O but a
 * connect): *call and *answer are borrowed until tr_cluster_recv() answers 1.
 * -1 (out of memory) when it was not added; *answer then says so. Calls may be
 * appended while the batch's answers are owed (a claim behind a finish): they go
 * behind on the same connections. tr_cluster_flush() writes every master's output
 * (blocking, bounded by the timeout, as the one-Redis store's writes).
 * tr_cluster_recv() takes the answers: mode 1 blocks until every one is in (as
 * tr_cluster_run); 0 makes one read(2) at most on each master whose socket is
 * readable now (never blocks); -1 reads nothing. A master that owes answers and
 * sent nothing for timeout_ms is lost then (its calls as after a connection lost
 * after writing), so a stopped master does not hold up the others. Once every
 * first-pass answer is in, the calls to run again (as tr_cluster_run says) are run
 * alone, blocking, the answers filled, and it returns 1 (0: answers still owed).
 * tr_cluster_fds() puts the sockets of the masters owing answers in fds[0..max)
 * and returns how many there are (may be more than max); tr_cluster_recv_in_ms()
 * says in how many ms the first of them times out (-1: none owed).
 * tr_cluster_abandon() drops the batch (its connections closed, its answers failed,
 * replies freed). */
int tr_cluster_append(tr_cluster *c, const tr_cluster_call *call, tr_cluster_answer *answer);
void tr_cluster_flush(tr_cluster *c);
int tr_cluster_recv(tr_cluster *c, int mode);
int tr_cluster_owed(const tr_cluster *c); /* 1 while a batch is in flight */
size_t tr_cluster_fds(const tr_cluster *c, int *fds, size_t max);
int64_t tr_cluster_recv_in_ms(const tr_cluster *c);
void tr_cluster_abandon(tr_cluster *c);

/* A NEW authenticated connection to the master of key's slot, for a caller that
 * needs a connection of its own: SSUBSCRIBE to a shard channel (Redis 7 sharded
 * pub/sub: the channel's slot is its name's, so "{P:3}:wake" lives with shard 3) or a
 * non-blocking claim loop. The caller owns it (redisFree()) and must come back here
 * for a new one when the node answers -MOVED or drops the subscription (Redis sends
 * "sunsubscribe" when the slot leaves the node). NULL with the handle's error set. */
redisContext *tr_cluster_connect_for_key(tr_cluster *c, const char *key, size_t keylen);

/* The master serving `slot` now, per the map: host (valid until the next call on the
 * handle) and port. -1 when the map has no master for it. For tests and logs. */
int tr_cluster_slot_node(const tr_cluster *c, unsigned slot, const char **host, int *port);

/* Counters since tr_cluster_new(), for tests and /metrics. */
typedef struct tr_cluster_stats {
    uint64_t moved;       /* -MOVED answers followed */
    uint64_t ask;         /* -ASK answers followed */
    uint64_t retries;     /* resends after TRYAGAIN/CLUSTERDOWN/connection failures */
    uint64_t refreshes;   /* slot map loads, the first one included */
    uint64_t script_loads;/* SCRIPT LOADs after -NOSCRIPT */
    uint64_t connects;    /* connections made (the per-master ones) */
} tr_cluster_stats;

void tr_cluster_get_stats(const tr_cluster *c, tr_cluster_stats *out);

/* The last failure: its code (TR_RET_OK when the last call succeeded) and message. */
tr_ret tr_cluster_err(const tr_cluster *c);
const char *tr_cluster_errstr(const tr_cluster *c);

#endif
