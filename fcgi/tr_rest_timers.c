#include "tr_rest_timers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_auth.h"
#include "tr_clock.h"
#include "tr_jbuf.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_netpolicy.h"
#include "tr_rest_parse.h"
#include "tr_rest_reply.h"
#include "tr_rest_view.h"
#include "tr_store_rest.h"
#include "tr_timer.h"

#include "tr_assert.h"

static int64_t max_delay_ms(const tr_config *cfg)
{
    return cfg->max_delay_s * 1000;
}

/* 200 {"timer": <as stored now>}, 404 when it vanished meanwhile. */
static int answer_stored(tr_store *store, tr_http_response *resp, const char *key, int status)
{
    tr_timer_view v;
    tr_store_get_result found = tr_store_get(store, key, &v);
    if (found == TR_STORE_GET_FAILED)
        return tr_rest_store_failed(resp, store, "get");
    if (found == TR_STORE_GET_UNKNOWN)
        return tr_rest_error(resp, 404, "not_found", "no such timer");
    int bad = 0;
    json_object *t = tr_rest_view_timer(&v, &bad);
    tr_timer_view_clear(&v);
    if (t == NULL && bad)
        return tr_rest_error(resp, 500, "internal", "stored record unreadable (logged)");
    return tr_rest_json(resp, status, tr_json_wrap("timer", t));
}

/* prepare()'s answers besides 0. */
enum { PREP_INVALID = -1, PREP_INTERNAL = -2, PREP_REFUSED = -3 };

/* The destination policy's verdict on a create's URLs by their text alone
 * (tr_netpolicy.h): 0, or PREP_REFUSED with msg naming the field. */
static int check_destinations(const tr_config *cfg, const tr_timer_spec *spec, char *msg,
                              size_t msglen)
{
    const char *const urls[] = {spec->url, spec->failure_url};
    const char *const names[] = {"url", "failure_url"};
    for (size_t i = 0; i < 2; i++) {
        const char *why = NULL;
        if (urls[i] == NULL ||
            tr_netpolicy_check_url(&cfg->netpolicy, urls[i], &why) == TR_NETPOLICY_ALLOW)
            continue;
        tr_log_info("create: %s %s refused by policy (%s)", names[i], urls[i], why);
        snprintf(msg, msglen, "%s: " TR_NETPOLICY_REFUSED, names[i]);
        return PREP_REFUSED;
    }
    return 0;
}

/* Parses and encodes one create item. 0 with *rec (caller frees), or PREP_INVALID
 * with msg (PREP_REFUSED: the destination policy; PREP_INTERNAL: out of memory). */
static int prepare(const tr_config *cfg, json_object *item, int64_t now_ms, tr_rest_create *c,
                   char **rec, size_t *rec_len, char *msg, size_t msglen)
{
    *rec = NULL;
    if (tr_rest_parse_create(item, now_ms, max_delay_ms(cfg), c, msg, msglen) != 0)
        return PREP_INVALID;
    if (c->spec.data_len > (size_t)cfg->max_body_bytes) {
        snprintf(msg, msglen, "data: larger than %d bytes", cfg->max_body_bytes);
        return PREP_INVALID;
    }
    if (check_destinations(cfg, &c->spec, msg, msglen) != 0)
        return PREP_REFUSED;
    if (c->key[0] == '\0' && tr_timer_new_key(c->key) != 0) {
        snprintf(msg, msglen, "the random source failed");
        return PREP_INTERNAL;
    }
    if (tr_timer_record_encode(&c->spec, rec, rec_len) != 0) {
        snprintf(msg, msglen, "out of memory");
        return PREP_INTERNAL;
    }
    return 0;
}

int tr_rest_create_timer(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp)
{
    char msg[512];
    tr_rest_create c;
    char *rec = NULL;
    size_t rec_len = 0;
    int rc;
    json_object *obj = tr_json_parse_object(req->body, req->body_len, msg, sizeof msg);
    if (obj == NULL)
        return tr_rest_error(resp, 400, "invalid_json", msg);
    int p = prepare(cfg, obj, tr_clock_wall_ms(), &c, &rec, &rec_len, msg, sizeof msg);
    json_object_put(obj);
    if (p != 0) {
        rc = p == PREP_INVALID   ? tr_rest_error(resp, 400, "invalid_field", msg)
             : p == PREP_REFUSED ? tr_rest_error(resp, 400, "destination_refused", msg)
                                 : tr_rest_error(resp, 500, "internal", msg);
        goto done;
    }
    tr_create item = {c.key, rec, rec_len, c.when.delay_ms, c.when.at_ms};
    tr_create_result result;
    int64_t due = -1, now = 0;
    if (tr_store_create(store, &item, 1, &result, &due, &now) != 0) {
        char what[TR_KEY_MAX + 32];
        snprintf(what, sizeof what, "create of key %s", c.key); /* the key, maybe made here */
        rc = tr_rest_store_failed(resp, store, what);
        goto done;
    }
    if (result == TR_CREATE_NEW) {
        tr_log_info("key=%s created due_ms=%lld url=%s bytes=%zu", c.key, (long long)due,
                    c.spec.url, c.spec.data_len);
        rc = tr_rest_json(resp, 201,
                          tr_json_wrap("timer", tr_rest_view_new(c.key, &c.spec, due, now)));
    } else if (result == TR_CREATE_SAME) {
        rc = answer_stored(store, resp, c.key, 200);
    } else {
        rc = tr_rest_error(resp, 409, "conflict",
                           "key: a timer with this key exists with another body");
    }
done:
    free(rec);
    tr_rest_create_clear(&c);
    return rc;
}

/* {"status":N,name:value} for one batch item, value consumed; NULL when out of
 * memory. */
static json_object *item(int status, const char *name, json_object *value)
{
    json_object *o = json_object_new_object();
    if (tr_json_add(o, "status", json_object_new_int(status)) != 0 ||
        tr_json_add(o, name, value) != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* {"status":N,"error":{...}} for one batch item; NULL when out of memory. */
static json_object *item_error(int status, const char *code, const char *message)
{
    return item(status, "error", tr_rest_error_object(code, message));
}

static json_object *item_timer(int status, json_object *timer)
{
    return item(status, "timer", timer);
}

/* The stored timer of a TR_CREATE_SAME item, as a batch result. */
static json_object *item_stored(tr_store *store, const char *key)
{
    tr_timer_view v;
    tr_store_get_result found = tr_store_get(store, key, &v);
    if (found == TR_STORE_GET_FAILED)
        return item_error(503, "store_unavailable", tr_store_error(store));
    if (found == TR_STORE_GET_UNKNOWN)
        return item_error(404, "not_found", "no such timer");
    int bad = 0;
    json_object *t = tr_rest_view_timer(&v, &bad);
    tr_timer_view_clear(&v);
    if (t == NULL)
        return bad ? item_error(500, "internal", "stored record unreadable") : NULL;
    return item_timer(200, t);
}

typedef struct batch {
    size_t n;
    tr_rest_create *c;     /* n parsed items (zeroed when invalid) */
    char **rec;            /* n records, NULL when invalid */
    size_t *rec_len;
    json_object **result;  /* n results (errors filled while parsing) */
    tr_create *items;      /* the valid ones */
    size_t *item_of;       /* items[j] is batch item item_of[j] */
    size_t *slot;          /* batch item i is items[slot[i] - 1]; 0 when invalid */
    tr_create_result *res;
    int64_t *due;
    size_t valid;
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->c != NULL)
            tr_rest_create_clear(&b->c[i]);
        if (b->rec != NULL)
            free(b->rec[i]);
        if (b->result != NULL)
            json_object_put(b->result[i]);
    }
    free(b->c);
    free(b->rec);
    free(b->rec_len);
    free(b->result);
    free(b->items);
    free(b->item_of);
    free(b->slot);
    free(b->res);
    free(b->due);
}

static int batch_alloc(batch *b, size_t n)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    b->c = calloc(n, sizeof *b->c);
    b->rec = calloc(n, sizeof *b->rec);
    b->rec_len = calloc(n, sizeof *b->rec_len);
    b->result = calloc(n, sizeof *b->result);
    b->items = calloc(n, sizeof *b->items);
    b->item_of = calloc(n, sizeof *b->item_of);
    b->slot = calloc(n, sizeof *b->slot);
    b->res = calloc(n, sizeof *b->res);
    b->due = calloc(n, sizeof *b->due);
    return b->c && b->rec && b->rec_len && b->result && b->items && b->item_of && b->slot &&
                   b->res && b->due
               ? 0
               : -1;
}

/* {"status":201,"timer":<tr_rest_view_new>} into out: the same text json-c writes
 * (fields in tr_rest_view.c's order), directly for a plain spec, else through the
 * tree. -1 when out of memory. */
static int write_new(tr_jbuf *out, const char *key, const tr_timer_spec *spec, int64_t due,
                     int64_t now)
{
    if (!tr_timer_spec_plain(spec)) {
        json_object *o = item_timer(201, tr_rest_view_new(key, spec, due, now));
        if (o == NULL)
            return -1;
        tr_jbuf_json(out, o);
        json_object_put(o);
        return tr_jbuf_failed(out) ? -1 : 0;
    }
    tr_jbuf_lit(out, "{\"status\":201,\"timer\":{\"key\":");
    tr_jbuf_str(out, key, strlen(key));
    tr_jbuf_lit(out, ",\"state\":\"pending\",\"url\":");
    tr_jbuf_str(out, spec->url, strlen(spec->url));
    tr_jbuf_lit(out, ",\"data\":");
    tr_jbuf_str(out, spec->data != NULL ? spec->data : "", spec->data_len);
    tr_jbuf_lit(out, ",\"due_ms\":");
    tr_jbuf_i64(out, due);
    tr_jbuf_lit(out, ",\"ttl_ms\":");
    tr_jbuf_i64(out, due > now ? due - now : 0);
    tr_jbuf_lit(out, ",\"attempts\":0,\"last_status\":null,\"last_error\":null}}");
    return tr_jbuf_failed(out) ? -1 : 0;
}

int tr_rest_batch(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp)
{
    char msg[512];
    json_object *list = NULL;
    json_object *obj = tr_json_parse_object(req->body, req->body_len, msg, sizeof msg);
    if (obj == NULL)
        return tr_rest_error(resp, 400, "invalid_json", msg);
    json_object_object_foreach(obj, name, val)
    {
        if (strcmp(name, "timers") != 0) {
            snprintf(msg, sizeof msg, "%.64s: unknown field", name);
            json_object_put(obj);
            return tr_rest_error(resp, 400, "invalid_field", msg);
        }
        list = val;
    }
    if (list == NULL || !json_object_is_type(list, json_type_array)) {
        json_object_put(obj);
        return tr_rest_error(resp, 400, "invalid_field", "timers: must be an array");
    }
    size_t n = json_object_array_length(list);
    if (n == 0 || n > TR_REST_BATCH_MAX) {
        json_object_put(obj);
        if (n == 0)
            return tr_rest_error(resp, 400, "invalid_field", "timers: must not be empty");
        snprintf(msg, sizeof msg, "timers: at most %d per batch", TR_REST_BATCH_MAX);
        return tr_rest_error(resp, 413, "too_large", msg);
    }
    batch b;
    int rc = -1;
    if (batch_alloc(&b, n) != 0)
        goto done;
    int64_t now = tr_clock_wall_ms();
    for (size_t i = 0; i < n; i++) {
        int p = prepare(cfg, json_object_array_get_idx(list, i), now, &b.c[i], &b.rec[i],
                        &b.rec_len[i], msg, sizeof msg);
        if (p == PREP_INTERNAL)
            goto done;
        if (p == PREP_INVALID || p == PREP_REFUSED) {
            const char *code = p == PREP_REFUSED ? "destination_refused" : "invalid_field";
            if ((b.result[i] = item_error(400, code, msg)) == NULL)
                goto done;
            continue;
        }
        b.items[b.valid] = (tr_create){b.c[i].key, b.rec[i], b.rec_len[i], b.c[i].when.delay_ms,
                                       b.c[i].when.at_ms};
        b.item_of[b.valid++] = i;
        b.slot[i] = b.valid;
    }
    int64_t redis_now = 0;
    if (b.valid > 0 && tr_store_create(store, b.items, b.valid, b.res, b.due, &redis_now) != 0) {
        rc = tr_rest_store_failed(resp, store, "batch create");
        goto done;
    }
    size_t created = 0;
    for (size_t j = 0; j < b.valid; j++) {
        size_t i = b.item_of[j];
        if (b.res[j] == TR_CREATE_NEW) {
            created++; /* written below, without a json-c tree */
            continue;
        }
        if (b.res[j] == TR_CREATE_SAME)
            b.result[i] = item_stored(store, b.c[i].key);
        else
            b.result[i] = item_error(409, "conflict",
                                     "key: a timer with this key exists with another body");
        if (b.result[i] == NULL)
            goto done;
    }
    tr_log_info("batch: %zu timers, %zu created", n, created);
    /* About 240 bytes a created timer: one allocation for the usual answer. */
    tr_jbuf out;
    if (tr_jbuf_init(&out, 64 + n * 256) != 0)
        goto done;
    tr_jbuf_lit(&out, "{\"results\":[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tr_jbuf_raw(&out, ",", 1);
        if (b.result[i] != NULL) {
            tr_jbuf_json(&out, b.result[i]);
            continue;
        }
        assert(b.slot[i] > 0); /* no result yet: a valid item the store created */
        size_t j = b.slot[i] - 1;
        if (write_new(&out, b.c[i].key, &b.c[i].spec, b.due[j], redis_now) != 0)
            break;
    }
    tr_jbuf_lit(&out, "]}");
    size_t len = 0;
    char *text = tr_jbuf_take(&out, &len);
    if (text == NULL)
        goto done;
    free(resp->body);
    resp->body = text;
    resp->body_len = len;
    resp->status = 200;
    rc = 0;
done:
    if (rc == -1 && resp->body == NULL)
        rc = tr_rest_error(resp, 500, "internal", "out of memory");
    batch_free(&b);
    json_object_put(obj);
    return rc;
}

int tr_rest_get(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                tr_http_response *resp, const char *key)
{
    (void)cfg;
    (void)req;
    return answer_stored(store, resp, key, 200);
}

int tr_rest_delete(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp, const char *key)
{
    (void)cfg;
    int64_t ttl = -1;
    tr_timer_state state = TR_STATE_NONE;
    /* Dead timers need admin, others write: checked in the script that deletes. */
    if (tr_store_cancel_scoped(store, key, tr_auth_cancel_scope(req->auth_scopes), &ttl,
                               &state) != 0)
        return tr_rest_store_failed(resp, store, "cancel");
    if (ttl == -2)
        return tr_rest_error(resp, 403, "forbidden",
                             state == TR_STATE_DEAD
                                 ? "the timer is dead: deleting it needs the admin scope"
                                 : "the timer is not dead: deleting it needs the write scope");
    if (ttl < 0)
        return tr_rest_error(resp, 404, "not_found", "no such timer");
    tr_log_info("key=%s cancelled ttl_ms=%lld state=%s", key, (long long)ttl,
                tr_timer_state_name(state));
    json_object *o = json_object_new_object();
    if (tr_json_add(o, "key", json_object_new_string(key)) != 0 ||
        tr_json_add(o, "ttl_ms", json_object_new_int64(ttl)) != 0 ||
        tr_json_add(o, "state", json_object_new_string(tr_timer_state_name(state))) != 0) {
        json_object_put(o);
        return -1;
    }
    return tr_rest_json(resp, 200, o);
}

/* A store call that gives a timer a new due time, for answer_moved(). */
typedef struct move_kind {
    const char *what;      /* the operation, for a store failure */
    const char *done;      /* the log line's word */
    const char *not_found; /* the 404 message */
} move_kind;

static const move_kind move_reschedule = {"reschedule", "rescheduled", "no such timer"};
static const move_kind move_replay = {"replay", "replayed", "no such dead timer"};

/* The answer to such a call (a replay's result given in the reschedule's terms):
 * 200 and the timer as stored now, 404, 409, or the store's failure. */
static int answer_moved(tr_store *store, tr_http_response *resp, const char *key,
                        tr_store_reschedule_result r, int64_t due, const move_kind *k)
{
    if (r == TR_STORE_RESCHEDULE_FAILED)
        return tr_rest_store_failed(resp, store, k->what);
    if (r == TR_STORE_RESCHEDULE_UNKNOWN)
        return tr_rest_error(resp, 404, "not_found", k->not_found);
    if (r == TR_STORE_RESCHEDULE_NOT_PENDING)
        return tr_rest_error(resp, 409, "conflict",
                             "timer is in flight or dead (replay a dead one instead)");
    assert(r == TR_STORE_RESCHEDULE_DONE);
    tr_log_info("key=%s %s due_ms=%lld", key, k->done, (long long)due);
    tr_timer_view v;
    tr_store_get_result found = tr_store_get(store, key, &v);
    if (found == TR_STORE_GET_FOUND) {
        int bad = 0;
        json_object *t = tr_rest_view_timer(&v, &bad);
        tr_timer_view_clear(&v);
        if (t == NULL && bad)
            return tr_rest_error(resp, 500, "internal", "stored record unreadable (logged)");
        return tr_rest_json(resp, 200, tr_json_wrap("timer", t));
    }
    /* The move happened; the timer was delivered (or cancelled) before it could be
     * read back (a timer moved to now is claimed at once), or the read failed.
     * Either way the answer is the move's: a 404 would say it did not happen. */
    json_object *t = json_object_new_object();
    if (t == NULL || tr_json_add(t, "key", json_object_new_string(key)) != 0 ||
        tr_json_add(t, "state", json_object_new_string(found == TR_STORE_GET_UNKNOWN
                                                           ? "done"
                                                           : "unknown")) != 0 ||
        tr_json_add(t, "due_ms", json_object_new_int64(due)) != 0) {
        json_object_put(t);
        return tr_rest_error(resp, 500, "internal", "out of memory");
    }
    return tr_rest_json(resp, 200, tr_json_wrap("timer", t));
}

int tr_rest_reschedule(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                       tr_http_response *resp, const char *key)
{
    char msg[512];
    json_object *obj = tr_json_parse_object(req->body, req->body_len, msg, sizeof msg);
    if (obj == NULL)
        return tr_rest_error(resp, 400, "invalid_json", msg);
    tr_rest_when when;
    int p = tr_rest_parse_when(obj, tr_clock_wall_ms(), max_delay_ms(cfg), &when, msg, sizeof msg);
    json_object_put(obj);
    if (p != 0)
        return tr_rest_error(resp, 400, "invalid_field", msg);
    int64_t due = -1;
    tr_store_reschedule_result r =
        tr_store_reschedule(store, key, when.delay_ms, when.at_ms, &due);
    return answer_moved(store, resp, key, r, due, &move_reschedule);
}

int tr_rest_replay(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp, const char *key)
{
    (void)cfg;
    (void)req;
    int64_t due = -1;
    tr_store_replay_result r = tr_store_replay(store, key, &due);
    /* Not dead answers like an unknown timer: 404 with this call's message. */
    return answer_moved(store, resp, key,
                        r == TR_STORE_REPLAY_FAILED     ? TR_STORE_RESCHEDULE_FAILED
                        : r == TR_STORE_REPLAY_NOT_DEAD ? TR_STORE_RESCHEDULE_UNKNOWN
                                                        : TR_STORE_RESCHEDULE_DONE,
                        due, &move_replay);
}

int tr_rest_list(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                 tr_http_response *resp)
{
    (void)cfg;
    char msg[256];
    tr_rest_list_query lq;
    if (tr_rest_parse_list_query(req->query != NULL ? req->query : "", &lq, msg, sizeof msg) != 0)
        return tr_rest_error(resp, 400, "bad_request", msg);
    tr_timer_view *v = NULL;
    size_t n = 0;
    if (tr_store_list(store, lq.dead, lq.after_score, lq.has_cursor ? lq.after_key : NULL,
                      lq.limit + 1, &v, &n) != 0)
        return tr_rest_store_failed(resp, store, "list");
    int rc = -1;
    size_t shown = n > lq.limit ? lq.limit : n;
    json_object *arr = json_object_new_array_ext((int)shown);
    json_object *out = json_object_new_object();
    if (arr == NULL || out == NULL)
        goto done;
    for (size_t i = 0; i < shown; i++) {
        int bad = 0;
        json_object *t = tr_rest_view_timer(&v[i], &bad);
        if (t == NULL && bad) {
            tr_log_error("key=%s list: stored record unreadable, skipped", v[i].id);
            continue;
        }
        if (t == NULL || json_object_array_add(arr, t) != 0) {
            json_object_put(t);
            goto done;
        }
    }
    int added = tr_json_add(out, "timers", arr);
    arr = NULL;
    if (added != 0)
        goto done;
    if (n > lq.limit) {
        assert(shown > 0); /* limit >= 1 */
        char cur[TR_KEY_MAX + 32];
        snprintf(cur, sizeof cur, "%lld:%s", (long long)v[shown - 1].score_ms, v[shown - 1].id);
        added = tr_json_add(out, "next_cursor", json_object_new_string(cur));
    } else {
        added = tr_json_add_null(out, "next_cursor");
    }
    if (added != 0)
        goto done;
    rc = tr_rest_json(resp, 200, out);
    out = NULL;
done:
    json_object_put(arr);
    json_object_put(out);
    for (size_t i = 0; i < n; i++)
        tr_timer_view_clear(&v[i]);
    free(v);
    return rc;
}
