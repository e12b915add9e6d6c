/* fuzz_sign.c - libFuzzer target for the signing secrets file parser and webhook-ids
 * (scheduler/tr_sign.h). Run by ./run-tests for a few seconds on
 * tests/fuzz/corpus/fuzz_sign/; longer: tests/fuzz/run-long.sh fuzz_sign SECONDS.
 *
 * Checks, beyond "no crash, no leak": an accepted file holds 1..TR_SIGN_KEYS_MAX
 * secrets whose signature value has the exact length; the same bytes as a timer key
 * give an id without '.', CR, LF or NUL, as long as tr_sign_id() says.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tr_sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    tr_sign *s = tr_sign_from_text((const char *)data, size, err, sizeof err);
    if (s != NULL) {
        char out[TR_SIGN_VALUE_MAX];
        int n = tr_sign_count(s);
        if (n < 1 || n > TR_SIGN_KEYS_MAX ||
            tr_sign_value(s, "msg_k_1_1", 1614265330, data, size, out, sizeof out) != 0 ||
            strlen(out) != (size_t)n * (TR_SIGN_ONE_LEN + 1) - 1)
            abort();
        tr_sign_free(s);
    }
    /* The bytes up to the first NUL as a key. */
    char *key = malloc(size + 1);
    if (key == NULL)
        return 0;
    memcpy(key, data, size);
    key[size] = '\0';
    size_t need = tr_sign_id(NULL, 0, key, -1, INT64_MAX, 1);
    char *id = malloc(need + 1);
    if (id != NULL) {
        if (tr_sign_id(id, need + 1, key, -1, INT64_MAX, 1) != need || strlen(id) != need ||
            strpbrk(id, ".\r\n") != NULL)
            abort();
        free(id);
    }
    free(key);
    return 0;
}
