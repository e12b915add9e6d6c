#include "tr_error.h"

const char *tr_ret_name(tr_ret ret)
{
    switch (ret) {
    case TR_RET_OK: return "ok";
    case TR_RET_BAD_JSON: return "bad_json";
    case TR_RET_BAD_FIELD: return "bad_field";
    case TR_RET_BAD_SECONDS: return "bad_seconds";
    case TR_RET_BAD_URL: return "bad_url";
    case TR_RET_TOO_LARGE: return "too_large";
    case TR_RET_BAD_METHOD: return "bad_method";
    case TR_RET_NOT_FOUND: return "not_found";
    case TR_RET_UNAUTHORIZED: return "unauthorized";
    case TR_RET_FORBIDDEN: return "forbidden";
    case TR_RET_STORE_DOWN: return "store_down";
    case TR_RET_INTERNAL: return "internal";
    case TR_RET_OUTCOME_UNKNOWN: return "outcome_unknown";
    case TR_RET_DESTINATION_REFUSED: return "destination_refused";
    }
    return "internal";
}

int tr_ret_http_status(tr_ret ret)
{
    switch (ret) {
    case TR_RET_OK: return 200;
    case TR_RET_BAD_JSON:
    case TR_RET_BAD_FIELD:
    case TR_RET_BAD_SECONDS:
    case TR_RET_BAD_URL:
    case TR_RET_DESTINATION_REFUSED: return 400;
    case TR_RET_TOO_LARGE: return 413;
    case TR_RET_BAD_METHOD: return 405;
    case TR_RET_NOT_FOUND: return 404;
    case TR_RET_UNAUTHORIZED: return 401;
    case TR_RET_FORBIDDEN: return 403;
    case TR_RET_STORE_DOWN:
    case TR_RET_OUTCOME_UNKNOWN: return 503;
    case TR_RET_INTERNAL: return 500;
    }
    return 500;
}
