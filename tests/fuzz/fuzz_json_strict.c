/* fuzz_json_strict.c - libFuzzer target for the strict JSON check (tr_json_strict.h)
 * and tr_json_parse_input(). Built by the clang sanitizer build and run by
 * ./run-tests for a few seconds on tests/fuzz/corpus/fuzz_json_strict/.
 *
 * Checks, beyond "no crash, no leak": what the check accepts json-c accepts too (the
 * check only narrows json-c; a bare top-level number aside, which json-c cannot end),
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
    /* json-c cannot end a number at the end of the text ("5": it waits for more), so
     * a bare top-level number is the one text the check takes and json-c does not. */
    size_t i = 0;
    while (i < size && strchr(" \t\r\n", text[i]) != NULL && text[i] != '\0')
        i++;
    int bare_number = i < size && (text[i] == '-' || (text[i] >= '0' && text[i] <= '9'));
    if (o != NULL ? !ok : ok && !bare_number)
        abort(); /* accepted by one of the check and json-c but not by the other */
    json_object_put(o);
    return 0;
}
