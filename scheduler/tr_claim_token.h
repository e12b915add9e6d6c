/* tr_claim_token.h - the claim tokens of one scheduler run, and the claims it lost.
 *
 * Every claim carries a token that no other claim ever had (tr_store_sched.h: the
 * fence of every outcome): "<scheduler id>/<incarnation>/<sequence>". The id is
 * stable across restarts (--scheduler-id) and must be unique among the schedulers
 * sharing a Redis; the incarnation is random per run; the sequence counts this
 * run's claims. A restarted scheduler with an id gives back what its earlier runs
 * still hold (every token under "<id>/" but its own prefix); one without
 * (TR_SCHEDULER_ID_NONE) leaves them to their leases.
 *
 * A claim whose answer was lost (a timeout, a dropped connection) may have run, or
 * may still run when Redis gets to it: its token is kept here until the scheduler,
 * connected again, revokes it and releases what it holds (tr_store_recover_tokens).
 *
 * Plain data, no allocation: a tr_claim_tokens lives inside its owner.
 */
#ifndef TR_CLAIM_TOKEN_H
#define TR_CLAIM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "tr_store_sched.h"

#define TR_SCHEDULER_ID_MAX 64 /* bytes of --scheduler-id, NUL excluded */
#define TR_SCHEDULER_ID_NONE "-" /* the id of a scheduler given none: recovers no
                                  * earlier run */
#define TR_CLAIM_LOST_MAX 64   /* lost claims remembered; older ones return after
                                * their lease */

typedef struct tr_claim_tokens {
    char id_prefix[TR_SCHEDULER_ID_MAX + 2];   /* "<id>/" */
    char run_prefix[TR_SCHEDULER_ID_MAX + 24]; /* "<id>/<incarnation>/" */
    uint64_t seq;                              /* claims made so far */
    char current[TR_CLAIM_TOKEN_MAX];          /* the last token handed out */
    char lost[TR_CLAIM_LOST_MAX][TR_CLAIM_TOKEN_MAX];
    size_t nlost;
    uint64_t forgotten;                        /* lost ones dropped for room */
} tr_claim_tokens;

/* Whether `id` can name a scheduler: 1..TR_SCHEDULER_ID_MAX bytes of letters,
 * digits, '.', '_' and '-'. */
int tr_scheduler_id_valid(const char *id);

/* Sets up the tokens of a run of scheduler `id` (valid, or TR_SCHEDULER_ID_NONE)
 * with a random `incarnation`. 0, or -1 when the id is not valid. */
int tr_claim_tokens_init(tr_claim_tokens *t, const char *id, uint64_t incarnation);

/* A new token, also kept in t->current; valid until the next call. */
const char *tr_claim_tokens_next(tr_claim_tokens *t);

/* Remembers `token` as lost (once; the oldest is forgotten when full). */
void tr_claim_tokens_lost(tr_claim_tokens *t, const char *token);

/* The lost tokens as an array of n strings, valid until the next change. */
size_t tr_claim_tokens_lost_list(const tr_claim_tokens *t, const char **out, size_t max);

/* Forgets the lost tokens (recovered). */
void tr_claim_tokens_clear_lost(tr_claim_tokens *t);

#endif
