#include "tr_claim_token.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int id_byte_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int tr_scheduler_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > TR_SCHEDULER_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_byte_ok(id[i]))
            return 0;
    return 1;
}

int tr_claim_tokens_init(tr_claim_tokens *t, const char *id, uint64_t incarnation)
{
    memset(t, 0, sizeof *t);
    if (strcmp(id, TR_SCHEDULER_ID_NONE) != 0 && !tr_scheduler_id_valid(id))
        return -1;
    snprintf(t->id_prefix, sizeof t->id_prefix, "%s/", id);
    snprintf(t->run_prefix, sizeof t->run_prefix, "%s/%016" PRIx64 "/", id, incarnation);
    return 0;
}

const char *tr_claim_tokens_next(tr_claim_tokens *t)
{
    /* run_prefix (< 88 bytes) and 20 digits: always fits. */
    snprintf(t->current, sizeof t->current, "%s%" PRIu64, t->run_prefix, ++t->seq);
    return t->current;
}

void tr_claim_tokens_lost(tr_claim_tokens *t, const char *token)
{
    for (size_t i = 0; i < t->nlost; i++)
        if (strcmp(t->lost[i], token) == 0)
            return;
    if (t->nlost == TR_CLAIM_LOST_MAX) {
        memmove(t->lost[0], t->lost[1], (TR_CLAIM_LOST_MAX - 1) * sizeof t->lost[0]);
        t->nlost--;
        t->forgotten++;
    }
    snprintf(t->lost[t->nlost++], sizeof t->lost[0], "%s", token);
}

size_t tr_claim_tokens_lost_list(const tr_claim_tokens *t, const char **out, size_t max)
{
    size_t n = t->nlost < max ? t->nlost : max;
    for (size_t i = 0; i < n; i++)
        out[i] = t->lost[i];
    return n;
}

void tr_claim_tokens_clear_lost(tr_claim_tokens *t)
{
    t->nlost = 0;
}
