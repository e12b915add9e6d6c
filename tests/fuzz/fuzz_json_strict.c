/* fuzz_json_strict.c - libFuzzer target for the strict JSON check (tr_json_strict.h)
 * and tr_json_parse_input(). Built by the clang sanitizer build and run by
 * ./run-tests for a few seconds on tests/fuzz/corpus/fuzz_json_strict/.
 *
 * Checks, beyond "no crash, no leak": what the check accepts json-c accepts too (the
 * check only narrows json-c), so tr_json_parse_input() returns a value exactly when
 * the check passes on text json-c reads; and a message always fits and is set.
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tr_json.h"
#include "tr_json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char msg[200];
    memset(msg, 'x', sizeof msg);
    int ok = tr_json_strict_check(text, size, msg, sizeof msg) == 0;
    if (!ok && (memchr(msg, '\0', sizeof msg) == NULL || msg[0] == '\0'))
        abort();
    json_object *o = tr_json_parse_input(text, size, msg, sizeof msg);
    if (ok != (o != NULL))
        abort(); /* accepted by the check but not by json-c, or the reverse */
    json_object_put(o);
    return 0;
}
