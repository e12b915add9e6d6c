#include "tr_rest_reply.h"

#include <stdio.h>

#include "tr_json.h"
#include "tr_log.h"

int tr_rest_json(tr_http_response *resp, int status, json_object *obj)
{
    if (obj == NULL)
        return -1;
    int rc = tr_http_response_json(resp, status, obj);
    json_object_put(obj);
    return rc;
}

json_object *tr_rest_error_object(const char *code, const char *message)
{
    json_object *e = json_object_new_object();
    if (tr_json_add(e, "code", json_object_new_string(code)) != 0 ||
        tr_json_add(e, "message", json_object_new_string(message)) != 0) {
        json_object_put(e);
        return NULL;
    }
    return e;
}

int tr_rest_error(tr_http_response *resp, int status, const char *code, const char *message)
{
    if (status >= 500)
        tr_log_error("rest: %d %s: %s", status, code, message);
    else
        tr_log_warning("rest: %d %s: %s", status, code, message);
    return tr_rest_json(resp, status, tr_json_wrap("error", tr_rest_error_object(code, message)));
}

int tr_rest_store_failed(tr_http_response *resp, tr_store *store, const char *what)
{
    char msg[400];
    if (tr_store_error_code(store) == TR_RET_STORE_DOWN) {
        snprintf(msg, sizeof msg, "%s: store unavailable: %s", what, tr_store_error(store));
        return tr_rest_error(resp, 503, "store_unavailable", msg);
    }
    if (tr_store_error_code(store) == TR_RET_OUTCOME_UNKNOWN) {
        tr_log_error("rest: %s: %s", what, tr_store_error(store));
        snprintf(msg, sizeof msg,
                 "%s: the store got the request but did not answer; it may have been "
                 "applied (a create with a client key is safe to retry)",
                 what);
        return tr_rest_error(resp, 503, "outcome_unknown", msg);
    }
    tr_log_error("rest: %s failed: %s", what, tr_store_error(store));
    return tr_rest_error(resp, 500, "internal", "internal error (logged)");
}
