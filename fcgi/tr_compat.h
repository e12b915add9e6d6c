/* tr_compat.h - the original TimeRush endpoints, POST /register/ and /unregister/.
 *
 * Handlers are functions from a request (tr_http.h) and a store to a response, so
 * they run without FastCGI in unit tests. Answers are compact JSON:
 *   {"ret":0,"data":{...}} on success, {"ret":<tr_ret>,"msg":"..."} on failure,
 * with HTTP 200 for every answer the handlers give (clients read `ret`, as with
 * the original). docs/PROTOCOL.md describes them.
 */
#ifndef TR_COMPAT_H
#define TR_COMPAT_H

#include "tr_config.h"
#include "tr_error.h"
#include "tr_http.h"
#include "tr_store.h"

/* POST /register/: validates the body (tr_timer_spec_parse_compat), makes a key,
 * stores the timer, answers {"ret":0,"data":{"key":"<key>"}}. cfg gives the limits
 * (max_body_bytes, max_delay_s). Fills *resp (init'ed by the caller). Returns 0,
 * or -1 when out of memory and *resp could not be filled. */
int tr_compat_register(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                       tr_http_response *resp);

/* POST /unregister/: {"key":K} -> {"ret":0,"data":{"ttl":<whole seconds left,
 * rounded up; 0 when unknown, in flight or dead>}}. Same contract as above. */
int tr_compat_unregister(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                         tr_http_response *resp);

/* Fills *resp with HTTP `status` and {"ret":ret,"msg":msg}. 0, or -1 when out of
 * memory. */
int tr_compat_error(tr_http_response *resp, int status, tr_ret ret, const char *msg);

#endif
