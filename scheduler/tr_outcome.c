#include "tr_outcome.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tr_answer.h"
#include "tr_clock.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_mem.h"
#include "tr_netpolicy.h"
#include "tr_notify_stream.h"
#include "tr_repeat.h"
#include "tr_shard.h"
#include "tr_timer.h"
#include "tr_url.h"

/* The text of o (built when `built`, else abandoned) as a new string: *out
 * (NUL-terminated, *out_len bytes when out_len is not NULL; caller frees).
 * Releases o (which may be NULL). 0, or -1 when out of memory. */
static int to_text(json_object *o, int built, int flags, char **out, size_t *out_len)
{
    size_t len = 0;
    const char *text = built ? json_object_to_json_string_length(o, flags, &len) : NULL;
    *out = text != NULL ? tr_dup_bytes(text, len) : NULL;
    if (out_len != NULL)
        *out_len = *out != NULL ? len : 0;
    json_object_put(o);
    return *out != NULL ? 0 : -1;
}

int tr_outcome_meta(int64_t fire_due_ms, int64_t attempt, long status, const char *error,
                    int64_t at_wall_ms, char **out)
{
    json_object *o = json_object_new_object();
    int built = o != NULL && tr_json_add(o, "due", json_object_new_int64(fire_due_ms)) == 0 &&
                tr_json_add(o, "attempts", json_object_new_int64(attempt)) == 0 &&
                tr_json_add(o, "status", json_object_new_int64(status)) == 0 &&
                tr_json_add(o, "error", json_object_new_string(error ? error : "")) == 0 &&
                tr_json_add(o, "at", json_object_new_int64(at_wall_ms)) == 0;
    return to_text(o, built, JSON_C_TO_STRING_PLAIN, out, NULL);
}

int tr_outcome_failure_body(const char *id, const tr_timer_spec *spec, int64_t attempts,
                            long status, const char *error, int64_t fire_due_ms, char **out,
                            size_t *out_len)
{
    json_object *o = json_object_new_object();
    int built =
        o != NULL && tr_json_add(o, "key", json_object_new_string(id)) == 0 &&
        tr_json_add(o, "url", json_object_new_string(spec->url ? spec->url : "")) == 0 &&
        tr_json_add(o, "data",
                    json_object_new_string_len(spec->data ? spec->data : "",
                                               spec->data ? (int)spec->data_len : 0)) == 0 &&
        tr_json_add(o, "attempts", json_object_new_int64(attempts)) == 0 &&
        tr_json_add(o, "last_status", json_object_new_int64(status)) == 0 &&
        tr_json_add(o, "last_error", json_object_new_string(error ? error : "")) == 0 &&
        tr_json_add(o, "due_ms", json_object_new_int64(fire_due_ms)) == 0;
    return to_text(o, built, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, out,
                   out_len);
}

void tr_outcome_policy_of(const tr_config *cfg, const tr_timer_spec *spec, tr_outcome_policy *out)
{
    const tr_timer_policy *p = spec != NULL ? &spec->policy : NULL;
    out->max_attempts = p && p->max_attempts > 0 ? p->max_attempts : cfg->max_attempts;
    out->min_backoff_ms = p && p->min_backoff_ms > 0 ? p->min_backoff_ms : cfg->backoff_min_ms;
    out->max_backoff_ms = p && p->max_backoff_ms > 0 ? p->max_backoff_ms : cfg->backoff_max_ms;
    /* A timer's own minimum above the option's maximum: its minimum wins (the API
     * checks max >= min for the timer's own pair only). */
    if (out->max_backoff_ms < out->min_backoff_ms)
        out->max_backoff_ms = out->min_backoff_ms;
    out->timeout_ms = p && p->timeout_ms > 0 ? p->timeout_ms : cfg->timeout_ms;
}

int64_t tr_outcome_fire_due(const char *meta, size_t meta_len, int64_t claim_due_ms)
{
    if (meta == NULL || meta_len == 0)
        return claim_due_ms;
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return claim_due_ms;
    int64_t due = claim_due_ms;
    json_object *o = json_tokener_parse_ex(tok, meta, (int)meta_len);
    json_object *v;
    if (o != NULL && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "due", &v) && json_object_is_type(v, json_type_int))
        due = json_object_get_int64(v);
    json_object_put(o);
    json_tokener_free(tok);
    return due;
}

/* An outcome that could not be queued: the timer comes back after its lease. */
static void log_lost(const char *id)
{
    tr_log_error("key=%s outcome lost: out of memory (the timer returns after its lease)", id);
}

static int queue(tr_pending *p, const tr_finish *f)
{
    if (tr_pending_add(p, f) == 0)
        return 0;
    log_lost(f->id);
    return -1;
}

int tr_outcome_repeat(const tr_outcome_ctx *c, const char *id, const tr_timer_spec *spec,
                      int64_t fire_due_ms, tr_finish *f, char **record)
{
    *record = NULL;
    if (spec == NULL || !tr_repeat_is_recurring(&spec->schedule))
        return 0;
    tr_repeat_next nx;
    if (tr_repeat_compute(&spec->schedule, fire_due_ms, c->redis_now_ms, &nx) != 0 ||
        nx.at_ms < 0) {
        tr_log_info("key=%s series ends after firing %lld: %s", id,
                    (long long)spec->schedule.fired + 1, nx.why ? nx.why : "?");
        return 0;
    }
    tr_timer_spec next = *spec; /* shallow: only the counter changes */
    next.schedule.fired = spec->schedule.fired + 1;
    size_t len = 0;
    if (tr_timer_record_encode(&next, record, &len) != 0) {
        tr_log_error("key=%s outcome lost: out of memory for the next firing (the timer "
                     "returns after its lease)", id);
        return -1;
    }
    if (nx.skipped > 0)
        tr_log_warning("key=%s skipped %s%lld missed firing(s) (past already)", id,
                       nx.skipped >= TR_REPEAT_SKIP_COUNT_MAX ? "at least " : "",
                       (long long)nx.skipped);
    tr_log_info("key=%s next firing due_ms=%lld fired=%lld", id, (long long)nx.at_ms,
                (long long)next.schedule.fired);
    f->repeat_record = *record;
    f->repeat_record_len = len;
    f->repeat_at_ms = nx.at_ms;
    return 0;
}

/* Queues a DEAD outcome f for timer id (spec may be NULL), with its next firing
 * and a failure notice when the timer asks for them. */
static int queue_dead(const tr_outcome_ctx *c, tr_finish *f, const tr_timer_spec *spec,
                      int64_t fire_due_ms, long status, const char *error)
{
    char *rec = NULL, *notice = NULL;
    size_t notice_len = 0;
    int rc = -1;
    if (tr_outcome_repeat(c, f->id, spec, fire_due_ms, f, &rec) != 0)
        goto done;
    if (spec != NULL && spec->failure_url != NULL && spec->failure_url[0] != '\0') {
        if (tr_outcome_failure_body(f->id, spec, f->attempt, status, error, fire_due_ms, &notice,
                                    &notice_len) != 0) {
            tr_log_error("key=%s failure notice not sent: out of memory", f->id);
        }
    }
    if (notice != NULL)
        rc = tr_pending_add_notice(c->pending, f, spec->failure_url, notice, notice_len);
    else
        rc = tr_pending_add(c->pending, f);
    if (rc != 0)
        log_lost(f->id);
    else
        c->st->dead++;
done:
    free(rec);
    free(notice);
    return rc;
}

int tr_outcome_dead(const tr_outcome_ctx *c, const char *id, const char *token,
                    int64_t attempt, int64_t fire_due_ms, const char *error)
{
    char *meta = NULL;
    if (tr_outcome_meta(fire_due_ms, attempt, 0, error, tr_clock_wall_ms(), &meta) != 0) {
        log_lost(id);
        return -1;
    }
    tr_log_error("key=%s dead attempts=%lld error=%s", id, (long long)attempt, error);
    tr_finish f = {
        .kind = TR_FINISH_DEAD, .id = id, .token = token, .attempt = attempt, .meta = meta};
    int rc = queue_dead(c, &f, NULL, fire_due_ms, 0, error);
    free(meta);
    return rc;
}

/* A delivery that failed with a connection the destination policy refused: DEAD at once
 * (no retry can change the verdict), with only "destination refused by policy" kept
 * and in the failure notice; the log names the address for the operator. Its next
 * firing, when recurring, and the failure notice go as for any DEAD. */
static int refused(const tr_outcome_ctx *c, const tr_xfer *x)
{
    char *meta = NULL;
    tr_log_warning("key=%s destination %s refused by policy (%s; --callback-policy %s)", x->id,
                   x->refused_peer, x->refused,
                   tr_netpolicy_kind_name(c->cfg->netpolicy.kind));
    if (tr_outcome_meta(x->fire_due_ms, x->attempt, 0, TR_NETPOLICY_REFUSED, tr_clock_wall_ms(),
                        &meta) != 0) {
        log_lost(x->id);
        return -1;
    }
    tr_log_error("key=%s dead attempts=%lld error=%s", x->id, (long long)x->attempt,
                 TR_NETPOLICY_REFUSED);
    tr_finish f = {.kind = TR_FINISH_DEAD, .id = x->id, .token = x->token,
                   .attempt = x->attempt, .meta = meta};
    int rc = queue_dead(c, &f, &x->spec, x->fire_due_ms, 0, TR_NETPOLICY_REFUSED);
    if (rc == 0)
        c->st->policy_refused++;
    free(meta);
    return rc;
}

int tr_outcome_failed(const tr_outcome_ctx *c, const char *id, const char *token,
                      const tr_timer_spec *spec, int64_t attempt, int64_t fire_due_ms,
                      long status, const char *error, int64_t retry_after_ms)
{
    tr_outcome_policy pol;
    tr_outcome_policy_of(c->cfg, spec, &pol);
    char *meta = NULL;
    if (tr_outcome_meta(fire_due_ms, attempt, status, error, tr_clock_wall_ms(), &meta) != 0) {
        log_lost(id);
        return -1;
    }
    tr_finish f = {.id = id, .token = token, .attempt = attempt, .meta = meta};
    int rc;
    if (attempt >= pol.max_attempts) {
        f.kind = TR_FINISH_DEAD;
        tr_log_warning("key=%s failed attempt=%lld status=%ld error=%s retry_in_ms=-1", id,
                       (long long)attempt, status, error);
        tr_log_error("key=%s dead attempts=%lld error=%s", id, (long long)attempt, error);
        rc = queue_dead(c, &f, spec, fire_due_ms, status, error);
    } else {
        f.kind = TR_FINISH_RETRY;
        f.delay_ms = tr_backoff_retry_delay_ms(pol.min_backoff_ms, pol.max_backoff_ms, attempt,
                                               tr_rng_next(c->rng), retry_after_ms);
        tr_log_warning("key=%s failed attempt=%lld status=%ld error=%s retry_in_ms=%lld", id,
                       (long long)attempt, status, error, (long long)f.delay_ms);
        rc = queue(c->pending, &f);
        if (rc == 0)
            c->st->retried++;
    }
    free(meta);
    return rc;
}

/* Acks a delivered timer, creating the chained one when the answer asked for it,
 * and scheduling its next firing when it is recurring. */
static int ack(const tr_outcome_ctx *c, const tr_xfer *x, tr_timer_spec *chain,
               const char *chain_dead_meta)
{
    tr_finish f = {.kind = TR_FINISH_ACK, .id = x->id, .token = x->token, .attempt = x->attempt};
    char new_key[TR_KEY_LEN + 1];
    char *record = NULL, *rec = NULL;
    size_t record_len = 0;
    int rc = -1;
    if (tr_outcome_repeat(c, x->id, &x->spec, x->fire_due_ms, &f, &rec) != 0)
        goto done;
    if (tr_url_is_stream(x->spec.url)) {
        /* On one Redis the delivery is the XADD the ack script makes
         * (tr_notify_stream.h); with --stream-redis or on a cluster it was made
         * already (tr_notify_xstream.h, tr_notify_cstream.h): a plain ack. */
        if (tr_notify_stream_in_ack(c->cfg)) {
            f.stream = tr_url_stream_name(x->spec.url, "callback", NULL, 0);
            f.stream_data = x->spec.data != NULL ? x->spec.data : "";
            f.stream_data_len = x->spec.data != NULL ? x->spec.data_len : 0;
            f.stream_due_ms = x->fire_due_ms;
        }
        chain = NULL; /* nobody answered: nothing to chain */
    }
    if (chain != NULL) {
        /* In the parent's shard: the ack script creates it there, atomically. */
        if (tr_shard_new_key(c->cfg, tr_shard_of(c->cfg, x->id), new_key) != 0 ||
            tr_timer_record_encode(chain, &record, &record_len) != 0) {
            /* The delivery itself succeeded: ack it rather than deliver twice. */
            tr_log_error("key=%s chain not created: no random key or out of memory", x->id);
        } else {
            f.chain_id = new_key;
            f.chain_record = record;
            f.chain_record_len = record_len;
            f.chain_delay_ms = chain->delay_ms;
            f.chain_dead_meta = chain_dead_meta;
        }
    }
    rc = queue(c->pending, &f);
    if (rc == 0) {
        c->st->delivered++;
        if (f.chain_id != NULL && chain_dead_meta != NULL) {
            c->st->chain_refused++;
            tr_log_warning("key=%s chained new_key=%s put in the dead-letter set: %s", x->id,
                           new_key, TR_NETPOLICY_REFUSED);
        } else if (f.chain_id != NULL) {
            c->st->chained++;
            tr_log_info("key=%s chained new_key=%s delay_ms=%lld", x->id, new_key,
                        (long long)f.chain_delay_ms);
        }
    }
done:
    free(record);
    free(rec);
    return rc;
}

/* What becomes of a chain answer: a create like any other (tr_answer.h's rules,
 * then --no-chain, the parent's chain_limit, the create's size limit and the
 * destination policy by URL). A chain allowed by a limit N carries at most N - 1.
 * Returns the chain to pass to ack(): `chain` itself, or NULL when it is dropped
 * (logged and counted). *dead_meta is set (caller frees) when the policy refused
 * it: the chained timer goes to the dead-letter set, never due. */
static tr_timer_spec *chain_verdict(const tr_outcome_ctx *c, const tr_xfer *x,
                                    tr_timer_spec *chain, char **dead_meta)
{
    *dead_meta = NULL;
    if (c->cfg->no_chain) {
        tr_log_warning("key=%s chain refused: --no-chain", x->id);
        c->st->chain_refused++;
        return NULL;
    }
    if (x->spec.has_chain_limit) {
        if (x->spec.chain_limit <= 0) {
            tr_log_warning("key=%s chain refused: its chain_limit is 0", x->id);
            c->st->chain_refused++;
            return NULL;
        }
        /* Inherited, never raised: the answer may ask for a smaller limit. */
        int64_t left = x->spec.chain_limit - 1;
        if (!chain->has_chain_limit || chain->chain_limit > left)
            chain->chain_limit = left;
        chain->has_chain_limit = 1;
    }
    if (chain->data_len > (size_t)c->cfg->max_body_bytes) {
        tr_log_warning("key=%s chain refused: callback_data larger than %d bytes (--max-body)",
                       x->id, c->cfg->max_body_bytes);
        c->st->chain_refused++;
        return NULL;
    }
    const char *why = NULL;
    if (tr_netpolicy_check_url(&c->cfg->netpolicy, chain->url, &why) == TR_NETPOLICY_ALLOW)
        return chain;
    tr_log_warning("key=%s chain to %s refused by policy (%s; --callback-policy %s)", x->id,
                   chain->url, why, tr_netpolicy_kind_name(c->cfg->netpolicy.kind));
    if (tr_outcome_meta(0, 0, 0, TR_NETPOLICY_REFUSED, tr_clock_wall_ms(), dead_meta) != 0) {
        /* Out of memory: the chain is dropped, as any chain that cannot be made. */
        tr_log_error("key=%s refused chain not kept: out of memory", x->id);
        c->st->chain_refused++;
        return NULL;
    }
    return chain;
}

/* The common answers that need no JSON parser: a 2xx with an empty body or
 * exactly {"ret":0} is done without a chain (tr_answer.h's rules; the parser
 * would say the same). */
static int plain_done(const tr_xfer *x)
{
    static const char ok[] = "{\"ret\":0}";
    if (x->status < 200 || x->status > 299)
        return 0;
    return x->body_len == 0 ||
           (x->body_len == sizeof ok - 1 && memcmp(x->body, ok, sizeof ok - 1) == 0);
}

int tr_outcome_finished(const tr_outcome_ctx *c, const tr_xfer *x)
{
    long long ms = (long long)(x->end_mono_ms - x->start_mono_ms);
    if (x->body_dropped > 0)
        tr_log_warning("key=%s answer truncated: kept %zu bytes, dropped %zu (--max-response)",
                       x->id, x->body_len, x->body_dropped);
    /* Failed with some address refused: a name that resolves even in part to a
     * refused address is refused (another of its addresses may have been tried and
     * failed too: the refusal is what stays true on every retry). */
    if (x->result != CURLE_OK && x->refused != NULL)
        return refused(c, x);
    if (x->result != CURLE_OK) {
        const char *err = x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(x->result);
        return tr_outcome_failed(c, x->id, x->token, &x->spec, x->attempt, x->fire_due_ms, x->status, err,
                                 -1);
    }
    tr_timer_spec chain = {0};
    char why[256] = "";
    tr_answer_kind kind = plain_done(x) ? TR_ANSWER_DONE
                                        : tr_answer_parse(x->status, x->body ? x->body : "",
                                                          x->body_len, c->cfg->max_delay_s,
                                                          &chain, why, sizeof why);
    int rc;
    switch (kind) {
    case TR_ANSWER_DONE:
    case TR_ANSWER_CHAIN: {
        tr_log_info("key=%s delivered status=%ld ms=%lld attempt=%lld late_ms=%lld", x->id,
                    x->status, ms, (long long)x->attempt, (long long)x->late_ms);
        if (why[0] != '\0')
            tr_log_warning("key=%s chain rejected: %s", x->id, why);
        char *dead_meta = NULL;
        tr_timer_spec *next =
            kind == TR_ANSWER_CHAIN ? chain_verdict(c, x, &chain, &dead_meta) : NULL;
        rc = ack(c, x, next, dead_meta);
        free(dead_meta);
        break;
    }
    case TR_ANSWER_RETRY:
    default: {
        int64_t ra = -1;
        if ((x->status == 429 || x->status == 503) && x->retry_after[0] != '\0' &&
            tr_backoff_parse_retry_after(x->retry_after, tr_clock_wall_ms(), &ra) != 0) {
            tr_log_debug("key=%s ignoring Retry-After '%s'", x->id, x->retry_after);
            ra = -1;
        }
        rc = tr_outcome_failed(c, x->id, x->token, &x->spec, x->attempt, x->fire_due_ms, x->status,
                               why[0] != '\0' ? why : "not accepted", ra);
        break;
    }
    }
    tr_timer_spec_clear(&chain);
    return rc;
}
