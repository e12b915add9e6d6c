#include "tr_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

/* Every scope a request can hold. */
#define ALL_SCOPES (TR_SCOPE_API | TR_SCOPE_METRICS)

static unsigned configured_scopes(const tr_config *cfg)
{
    unsigned all = 0;
    for (int i = 0; i < cfg->api_token_count; i++)
        all |= cfg->api_tokens[i].scopes;
    return all;
}

int tr_auth_api_protected(const tr_config *cfg)
{
    return (configured_scopes(cfg) & TR_SCOPE_API) != 0;
}

/* The scopes of the token in `authorization`; 0 when it names none of ours. */
static unsigned token_scopes(const tr_config *cfg, const char *authorization)
{
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    /* Equal-length digests: the comparison cannot leak a token's length or prefix. */
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, strlen(given), got);
    unsigned scopes = 0;
    for (int i = 0; i < cfg->api_token_count; i++) {
        const tr_api_token *t = &cfg->api_tokens[i];
        SHA256((const unsigned char *)t->token, strlen(t->token), want);
        /* No branch on the result: every token costs the same. */
        unsigned match = (unsigned)(CRYPTO_memcmp(want, got, sizeof got) == 0);
        scopes |= t->scopes & (0u - match);
    }
    return scopes;
}

tr_cancel_scope tr_auth_cancel_scope(unsigned scopes)
{
    int w = (scopes & TR_SCOPE_WRITE) != 0, a = (scopes & TR_SCOPE_ADMIN) != 0;
    return w && a ? TR_CANCEL_ANY : w ? TR_CANCEL_LIVE : TR_CANCEL_DEAD;
}

tr_auth_result tr_auth_check(const tr_config *cfg, const char *authorization, tr_auth_need need,
                             unsigned *granted)
{
    unsigned configured = configured_scopes(cfg);
    unsigned have = token_scopes(cfg, authorization);
    int api_open = (configured & TR_SCOPE_API) == 0;
    /* While the API is open every request holds every API scope; the token's own
     * scopes count on top (a metrics token is not needed there, but harmless). */
    unsigned held = have | (api_open ? TR_SCOPE_API : 0u);
    if (granted != NULL)
        *granted = held;
    unsigned want;
    switch (need) {
    case TR_NEED_OPEN:
        return TR_AUTH_OK;
    case TR_NEED_METRICS:
        if (!cfg->metrics_auth && (configured & TR_SCOPE_METRICS) == 0)
            return TR_AUTH_OK;
        /* Protected /metrics asks for a token even while the API is open. */
        if (have == 0)
            return TR_AUTH_MISSING;
        return (have & (TR_SCOPE_READ | TR_SCOPE_METRICS)) != 0 ? TR_AUTH_OK
                                                                 : TR_AUTH_FORBIDDEN;
    case TR_NEED_READ:
        want = TR_SCOPE_READ;
        break;
    case TR_NEED_WRITE:
        want = TR_SCOPE_WRITE;
        break;
    case TR_NEED_ADMIN:
        want = TR_SCOPE_ADMIN;
        break;
    case TR_NEED_WRITE_OR_ADMIN:
        want = TR_SCOPE_WRITE | TR_SCOPE_ADMIN;
        break;
    case TR_NEED_ANY:
    default:
        want = ALL_SCOPES;
        break;
    }
    if (api_open)
        return TR_AUTH_OK;
    if (have == 0)
        return TR_AUTH_MISSING;
    return (have & want) != 0 ? TR_AUTH_OK : TR_AUTH_FORBIDDEN;
}
