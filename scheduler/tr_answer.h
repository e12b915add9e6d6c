/* tr_answer.h - what a callback's answer means for its timer.
 *
 * The rules, as the original TimeRush and our issue define them:
 *  - HTTP status outside 2xx: retry.
 *  - 2xx with a body that is a JSON object holding a non-zero "ret": retry.
 *  - 2xx with {"ret":0,"data":{"callback_cmd":..,"callback_data":..,"seconds":N}},
 *    N > 0: done, and a new timer is chained (created atomically with the ack).
 *    "seconds" 0 or absent: done, no chain. A chain that fails validation: done
 *    (the delivery succeeded), no chain, and `why` says what was wrong so it is logged.
 *  - any other 2xx (empty body, not JSON, JSON without "ret"): done.
 */
#ifndef TR_ANSWER_H
#define TR_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "tr_timer.h"

typedef enum tr_answer_kind {
    TR_ANSWER_DONE = 0,  /* ack */
    TR_ANSWER_CHAIN = 1, /* ack and create *chain */
    TR_ANSWER_RETRY = 2  /* not accepted: retry later */
} tr_answer_kind;

/* Reads the answer (status, body of len bytes, need not be NUL-terminated).
 * For TR_ANSWER_CHAIN fills *chain (caller clears it). `why` gets a short reason
 * for RETRY ("HTTP 500", "ret=1") and for a rejected chain; empty otherwise. */
tr_answer_kind tr_answer_parse(long http_status, const char *body, size_t len,
                               int64_t max_delay_s, tr_timer_spec *chain, char *why,
                               size_t whylen);

#endif
