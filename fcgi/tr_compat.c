#include "tr_compat.h"

#include <stdio.h>
#include <string.h>

#include "tr_auth.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_store_rest.h"
#include "tr_netpolicy.h"
#include "tr_timer.h"

#include "tr_assert.h"

#define BODY_LOG_MAX 512 /* bytes of a body shown at DEBUG */
#define KEY_TRIES 3      /* 96 fresh random bits colliding even once is ~never; bound it */

int tr_compat_error(tr_http_response *resp, int status, tr_ret ret, const char *msg)
{
    json_object *obj = json_object_new_object();
    int rc = -1;
    if (tr_json_add(obj, "ret", json_object_new_int((int)ret)) == 0 &&
        tr_json_add(obj, "msg", json_object_new_string(msg)) == 0)
        rc = tr_http_response_json(resp, status, obj);
    json_object_put(obj);
    return rc;
}

/* {"ret":0,"data":{name: value}}; value is consumed. */
static int answer_ok(tr_http_response *resp, const char *name, json_object *value)
{
    json_object *obj = json_object_new_object();
    int rc = -1;
    if (tr_json_add(obj, "ret", json_object_new_int(0)) == 0 &&
        tr_json_add(obj, "data", tr_json_wrap(name, value)) == 0)
        rc = tr_http_response_json(resp, 200, obj);
    json_object_put(obj);
    return rc;
}

/* Logs the body at DEBUG, cut and with unprintable bytes shown as '.', so one
 * request stays one log line. */
static void log_body(const char *what, const tr_http_request *req)
{
    if (!tr_log_enabled(TR_LOG_DEBUG))
        return;
    char shown[BODY_LOG_MAX + 1];
    size_t n = req->body_len < BODY_LOG_MAX ? req->body_len : BODY_LOG_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)req->body[i];
        shown[i] = (c < 0x20 || c == 0x7f) ? '.' : (char)c;
    }
    shown[n] = '\0';
    tr_log_debug("%s body (%zu bytes%s): %s", what, req->body_len,
                 n < req->body_len ? ", cut" : "", shown);
}

/* Answers a request the handler refuses: WARNING log line, HTTP 200, ret + msg. */
static int reject(const char *what, tr_http_response *resp, tr_ret ret, const char *msg)
{
    tr_log_warning("%s rejected ret=%d (%s): %s", what, (int)ret, tr_ret_name(ret), msg);
    return tr_compat_error(resp, 200, ret, msg);
}

/* Answers a store failure: ERROR log line, ret 10 (store down: nothing changed), 12
 * (sent, no answer: it may have been applied) or 11 (internal). */
static int store_failed(const char *what, const char *key, tr_store *store,
                        tr_http_response *resp)
{
    tr_ret code = tr_store_error_code(store);
    const char *err = tr_store_error(store);
    tr_log_error("key=%s %s failed: %s (%s)", key, what, err, tr_ret_name(code));
    char msg[512];
    if (code == TR_RET_STORE_DOWN) {
        snprintf(msg, sizeof msg, "store unavailable: %s", err);
        return tr_compat_error(resp, 200, TR_RET_STORE_DOWN, msg);
    }
    if (code == TR_RET_OUTCOME_UNKNOWN) {
        /* Not "nothing happened": the client must check (or cancel) before a retry
         * makes a second timer. */
        snprintf(msg, sizeof msg,
                 "outcome unknown: the store got the %s of key %s but did not answer; it may "
                 "have been applied (check or cancel that key with /unregister/)",
                 what, key);
        return tr_compat_error(resp, 200, TR_RET_OUTCOME_UNKNOWN, msg);
    }
    return tr_compat_error(resp, 200, TR_RET_INTERNAL, "internal error (logged)");
}

#define MEDIA_MSG \
    "Content-Type: must be application/json, application/x-www-form-urlencoded or none"

/* A Content-Type that is neither JSON, form nor absent: HTTP 415 (as /v1/ answers
 * it) with ret 1, logged like reject(). */
static int reject_media(const char *what, tr_http_response *resp)
{
    tr_log_warning("%s rejected ret=%d (%s): %s", what, (int)TR_RET_BAD_JSON,
                   tr_ret_name(TR_RET_BAD_JSON), MEDIA_MSG);
    return tr_compat_error(resp, 415, TR_RET_BAD_JSON, MEDIA_MSG);
}

/* What both endpoints do first: log the body at DEBUG, apply tr_http_body_check().
 * TR_RET_OK, or a code with msg set. The Content-Type comes next (reject_media). */
static tr_ret check_body(const char *what, const tr_config *cfg, const tr_http_request *req,
                         char *msg, size_t msglen)
{
    log_body(what, req);
    tr_ret ret = tr_http_body_check(req, (size_t)cfg->max_body_bytes);
    if (ret == TR_RET_TOO_LARGE)
        snprintf(msg, msglen, "body larger than %d bytes", cfg->max_body_bytes);
    else if (ret != TR_RET_OK)
        snprintf(msg, msglen, "unreadable Content-Length");
    return ret;
}

int tr_compat_register(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                       tr_http_response *resp)
{
    char msg[512];
    tr_timer_spec spec = {0};
    char *rec = NULL;
    size_t rec_len = 0;
    int rc = -1;

    tr_ret ret = check_body("register", cfg, req, msg, sizeof msg);
    if (ret != TR_RET_OK)
        return reject("register", resp, ret, msg);
    if (tr_http_body_type_of(req) == TR_HTTP_BODY_OTHER)
        return reject_media("register", resp);
    ret = tr_timer_spec_parse_compat(req->body, req->body_len, cfg->max_delay_s, &spec, msg,
                                     sizeof msg);
    if (ret == TR_RET_INTERNAL) {
        tr_log_error("register: %s", msg);
        return tr_compat_error(resp, 200, ret, "internal error (logged)");
    }
    if (ret != TR_RET_OK)
        return reject("register", resp, ret, msg);
    const char *why = NULL;
    if (tr_netpolicy_check_url(&cfg->netpolicy, spec.url, &why) != TR_NETPOLICY_ALLOW) {
        tr_log_info("register: callback_cmd %s refused by policy (%s)", spec.url, why);
        rc = reject("register", resp, TR_RET_DESTINATION_REFUSED,
                    "callback_cmd: " TR_NETPOLICY_REFUSED);
        goto done;
    }
    /* Re-serialised object data can differ in size from the input; keep the limit. */
    if (spec.data_len > (size_t)cfg->max_body_bytes) {
        snprintf(msg, sizeof msg, "callback_data: larger than %d bytes", cfg->max_body_bytes);
        rc = reject("register", resp, TR_RET_TOO_LARGE, msg);
        goto done;
    }
    if (tr_timer_record_encode(&spec, &rec, &rec_len) != 0) {
        tr_log_error("register: out of memory encoding the record");
        rc = tr_compat_error(resp, 200, TR_RET_INTERNAL, "internal error (logged)");
        goto done;
    }

    char key[TR_KEY_LEN + 1] = "";
    int64_t due_ms = -1;
    tr_store_add_result added = TR_STORE_ADD_EXISTS;
    for (int i = 0; i < KEY_TRIES && added == TR_STORE_ADD_EXISTS; i++) {
        if (tr_timer_new_key(key) != 0) {
            tr_log_error("register: the random source failed");
            rc = tr_compat_error(resp, 200, TR_RET_INTERNAL, "internal error (logged)");
            goto done;
        }
        added = tr_store_add(store, key, rec, rec_len, spec.delay_ms, &due_ms);
        if (added == TR_STORE_ADD_EXISTS)
            tr_log_warning("key=%s exists already; drawing another key", key);
    }
    if (added == TR_STORE_ADD_FAILED) {
        rc = store_failed("create", key, store, resp);
        goto done;
    }
    if (added != TR_STORE_ADD_NEW) {
        tr_log_error("register: %d key collisions in a row", KEY_TRIES);
        rc = tr_compat_error(resp, 200, TR_RET_INTERNAL, "internal error (logged)");
        goto done;
    }
    tr_log_info("key=%s created due_ms=%lld delay_ms=%lld url=%s bytes=%zu", key,
                (long long)due_ms, (long long)spec.delay_ms, spec.url, spec.data_len);
    /* The fixed answer as json-c would write it, without a tree: a generated key is
     * letters, digits, '_' and '.', nothing to escape. */
    char answer[64 + TR_KEY_LEN];
    int alen = snprintf(answer, sizeof answer, "{\"ret\":0,\"data\":{\"key\":\"%s\"}}", key);
    assert(alen > 0 && (size_t)alen < sizeof answer); /* a generated key always fits */
    if (alen < 0 || (size_t)alen >= sizeof answer)
        goto done;
    rc = tr_http_response_text(resp, 200, NULL, answer, (size_t)alen);
done:
    free(rec);
    tr_timer_spec_clear(&spec);
    return rc;
}

int tr_compat_unregister(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                         tr_http_response *resp)
{
    char msg[512];
    json_object *k = NULL;

    tr_ret ret = check_body("unregister", cfg, req, msg, sizeof msg);
    if (ret != TR_RET_OK)
        return reject("unregister", resp, ret, msg);
    if (tr_http_body_type_of(req) == TR_HTTP_BODY_OTHER)
        return reject_media("unregister", resp);
    json_object *obj = tr_json_parse_object(req->body, req->body_len, msg, sizeof msg);
    if (obj == NULL)
        return reject("unregister", resp, TR_RET_BAD_JSON, msg);
    if (!json_object_object_get_ex(obj, "key", &k)) {
        json_object_put(obj);
        return reject("unregister", resp, TR_RET_BAD_FIELD, "key: missing");
    }
    const char *key = json_object_is_type(k, json_type_string) ? json_object_get_string(k) : NULL;
    if (key == NULL) {
        json_object_put(obj);
        return reject("unregister", resp, TR_RET_BAD_FIELD, "key: must be a string");
    }
    if ((size_t)json_object_get_string_len(k) != strlen(key) || tr_timer_key_check(key) != 0) {
        json_object_put(obj);
        return reject("unregister", resp, TR_RET_BAD_FIELD,
                      "key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)");
    }

    int64_t ttl_ms = -1;
    tr_timer_state state = TR_STATE_NONE;
    int rc;
    /* As DELETE /v1/timers/{key}: a dead timer only with the admin scope (the
     * route asked for write). */
    if (tr_store_cancel_scoped(store, key, tr_auth_cancel_scope(req->auth_scopes), &ttl_ms,
                               &state) != 0) {
        rc = store_failed("cancel", key, store, resp);
        json_object_put(obj);
        return rc;
    }
    if (ttl_ms == -2) {
        /* key lives in obj: log before putting it. */
        tr_log_warning("key=%s unregister rejected ret=%d (%s): the timer is dead and the "
                       "token lacks the admin scope", key, (int)TR_RET_FORBIDDEN,
                       tr_ret_name(TR_RET_FORBIDDEN));
        json_object_put(obj);
        return tr_compat_error(resp, 403, TR_RET_FORBIDDEN,
                               "forbidden: the timer is dead; deleting it needs the admin scope");
    }
    if (ttl_ms < 0)
        tr_log_info("key=%s cancel: not found", key);
    else
        tr_log_info("key=%s cancelled ttl_ms=%lld", key, (long long)ttl_ms);
    /* Whole seconds, rounded up (a timer 1 ms from due still has 1 left), with
     * 1 ms of slack: the store rounds due times up to the next ms, so a 100 s
     * timer cancelled at once has 100001 ms left and must still answer 100. */
    int64_t ttl_s = 0;
    if (ttl_ms > 0) {
        ttl_s = (ttl_ms - 1 + 999) / 1000;
        if (ttl_s < 1)
            ttl_s = 1;
    }
    rc = answer_ok(resp, "ttl", json_object_new_int64(ttl_s));
    json_object_put(obj);
    return rc;
}
