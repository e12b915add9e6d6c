#include "tr_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

int tr_auth_check(const tr_config *cfg, const char *authorization)
{
    if (cfg->api_token_count == 0)
        return 0;
    if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
        return -1;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    /* Equal-length digests: the comparison cannot leak a token's length or prefix. */
    unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)given, strlen(given), got);
    int match = 0;
    for (int i = 0; i < cfg->api_token_count; i++) {
        SHA256((const unsigned char *)cfg->api_tokens[i], strlen(cfg->api_tokens[i]), want);
        match |= CRYPTO_memcmp(want, got, sizeof got) == 0;
    }
    return match ? 0 : -1;
}
