/* tr_store_int.h - what the parts of the store share; private to shared/tr_store*.c.
 *
 * tr_store.c owns the connection, the scripts and the calls the handlers and the
 * scheduler make one at a time (add, cancel, claim); tr_store_finish.c writes
 * delivery outcomes (blocking, or sent now and read later); tr_store_rest.c holds
 * the REST API's operations. Nothing outside these files includes this header.
 */
#ifndef TR_STORE_INT_H
#define TR_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "tr_store.h"

enum {
    S_ADD, S_CANCEL, S_CLAIM, S_ACK, S_RETRY, S_DEAD, S_RELEASE, S_EXTEND, S_CREATE, S_GET,
    S_LIST, S_RESCHEDULE, S_REPLAY, S_PAUSE, S_STATS, S_ACK_MANY, S_COUNT
};

/* Leases reaped per claim at most: bounds the time one script holds Redis. */
#define TR_STORE_REAP_LIMIT 256
/* Claimed per call at most, for the same reason. */
#define TR_STORE_CLAIM_MAX 10000

#define KEY_MAX (TR_CONFIG_STR_MAX + 16)

/* Longest argv of a script call: EVALSHA sha numkeys + 7 keys + 5 args. */
#define ARGV_MAX 24

enum {
    K_DUE, K_TIMERS, K_INFLIGHT, K_ATTEMPTS, K_META, K_DEAD, K_STATS, K_WAKE, K_PAUSED,
    K_HIST_LATENESS, K_HIST_DURATION, K_COUNT
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
    size_t n;            /* items */
    int *res;            /* n results, filled as answers arrive */
    size_t *again;       /* items answered NOSCRIPT (n entries of room) */
    size_t nagain;
    finish_plan plan;
    size_t answered;     /* calls answered so far */
    int failed;          /* an answer said Redis cannot serve: -1 at the end */
} finish_async;

struct tr_store {
    const tr_config *cfg;          /* borrowed, outlives the store */
    redisContext *ctx;             /* NULL while disconnected */
    char sha[S_COUNT][41];         /* SCRIPT LOAD answers, valid while ctx is */
    char key[K_COUNT][KEY_MAX];    /* "{P}:due" ...; K_WAKE is the channel */
    finish_async fa;               /* answers owed on ctx; no other call until read */
    int claim_active;              /* a claim sent by tr_store_claim_send, unanswered */
    size_t claim_limit;            /* its arguments, to repeat it after NOSCRIPT */
    int64_t claim_lease_ms;
    tr_ret err_code;
    char err[256];
};

typedef struct call_args {
    int which;                 /* S_* */
    int argc;
    const char *argv[ARGV_MAX];
    size_t len[ARGV_MAX];
    char nkeys[8];
    char num[6][24];           /* room for the numbers among the arguments */
    int nnum;
} call_args;

/* Helpers of tr_store.c, each documented at its definition there. */
void tr_store_set_error(tr_store *s, tr_ret code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tr_store_plan_free(finish_plan *p);
void tr_store_async_clear(finish_async *fa);
void tr_store_io_failed(tr_store *s, const char *what);
void tr_store_reply_failed(tr_store *s, const char *what, const redisReply *r);
int tr_store_is_noscript(const redisReply *r);
int tr_store_load_scripts(tr_store *s);
void tr_store_args_init(call_args *a, int which);
void tr_store_arg_bin(call_args *a, const char *str, size_t len);
void tr_store_arg_str(call_args *a, const char *str);
void tr_store_arg_i64(call_args *a, int64_t v);
void tr_store_arg_keys(call_args *a, const tr_store *s, int nkeys, const int *keys);
void tr_store_args_finish(call_args *a, const tr_store *s);
redisReply *tr_store_run_script(tr_store *s, call_args *a);
int tr_store_bad_reply(tr_store *s, const char *name, const redisReply *r);

/* The name of script `which` (an S_* value), for messages. */
const char *tr_store_script_name(int which);

#endif
