/* fuzz_register.c - libFuzzer target for the /register/ body parser and the
 * record round trip. Built by the clang sanitizer build (tests/fuzz/CMakeLists.txt)
 * and run by ./run-tests for a few seconds on tests/fuzz/corpus/fuzz_register/;
 * longer: tests/fuzz/run-long.sh fuzz_register SECONDS (docs/TESTING.md).
 *
 * Checks, beyond "no crash, no leak": an accepted spec has a valid URL, a positive
 * delay within the limit, and survives record encode/decode byte for byte; the
 * same bytes read as a callback answer never crash either.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tr_answer.h"
#include "tr_timer.h"
#include "tr_url.h"

#define MAX_S 315360000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_timer_spec spec;
    char msg[256];
    tr_ret ret = tr_timer_spec_parse_compat((const char *)data, size, MAX_S, &spec, msg,
                                            sizeof msg);
    if (ret == TR_RET_OK) {
        if (spec.url == NULL || spec.data == NULL || spec.delay_ms <= 0 ||
            spec.delay_ms > MAX_S * 1000 ||
            tr_url_check_target(spec.url, "u", msg, sizeof msg) != 0)
            abort();
        char *rec = NULL;
        size_t rec_len = 0;
        if (tr_timer_record_encode(&spec, &rec, &rec_len) != 0)
            abort();
        tr_timer_spec back;
        if (tr_timer_record_decode(rec, rec_len, &back) != 0 || strcmp(back.url, spec.url) != 0 ||
            back.data_len != spec.data_len || memcmp(back.data, spec.data, spec.data_len) != 0)
            abort();
        tr_timer_spec_clear(&back);
        free(rec);
        tr_timer_spec_clear(&spec);
    } else if (spec.url != NULL || spec.data != NULL) {
        abort(); /* a refused spec must come back empty */
    }

    tr_timer_spec chain;
    char why[256];
    if (tr_answer_parse(200, (const char *)data, size, MAX_S, &chain, why, sizeof why) ==
        TR_ANSWER_CHAIN)
        tr_timer_spec_clear(&chain);
    else if (chain.url != NULL || chain.data != NULL)
        abort();
    return 0;
}
