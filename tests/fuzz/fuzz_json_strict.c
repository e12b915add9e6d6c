/* fuzz_json_strict.c - libFuzzer target for the strict JSON check (tr_json_strict.h)
 * and tr_json_parse_input(). Built by the clang sanitizer build and run by
 * ./run-tests for a few seconds on tests/fuzz/corpus/fuzz_json_strict/.
 *
 * Checks, beyond "no crash, no leak": what the check accepts json-c accepts too (the
 * check only narrows json-c; a bare top-level number or literal aside, which
 * json-c cannot end at the end of the text),
 * so tr_json_parse_input() returns a value exactly when the check passes; and a
 * refusal's message is set and fits.
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
    /* json-c cannot end a bare top-level number or literal at the end of the text
     * ("5", "false": it waits for more), and its null is a NULL object: those are
     * the texts the check takes and tr_json_parse_input() returns no value for. */
    size_t i = 0;
    while (i < size && strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0')
        i++;
    int no_value = i < size && text[i] != '{' && text[i] != '[' && text[i] != '"';
    if (o != NULL ? !ok : ok && !no_value)
        abort(); /* accepted by one of the check and json-c but not by the other */
    json_object_put(o);
    return 0;
}
