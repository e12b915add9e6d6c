/* fuzz_headers.c - a timer's own callback headers, on both sides: the API's "headers"
 * field (tr_rest_parse_create) and the scheduler's merge of a stored headers object
 * into a delivery (tr_headers_merge), which share one rule (tr_header_rules.h).
 *
 * Input: JSON text, used twice: as the "headers" value of an otherwise valid create
 * body, and as the stored headers text a record may hold.
 * Checks: the API accepts exactly the objects of at most 32 string members whose
 * names and values tr_header_allowed() takes, within 8 KiB in all; every accepted
 * header is sent (tr_fuzz_check_headers_sent); a name the rule allows is an RFC 9110
 * token outside the reserved list of docs/API.md (checked by a list kept here);
 * whatever the stored text, merged lines hold no CR, LF and only allowed names, and
 * sent + skipped = members.
 */
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "tr_fuzz.h"
#include "tr_header_rules.h"
#include "tr_headers.h"
#include "tr_json.h"
#include "tr_rest_parse.h"

/* docs/API.md's list, written apart from tr_header_rules.c. */
static int oracle_name_ok(const char *name)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~";
    if (name[0] == '\0')
        return 0;
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr(tchar, c) != NULL)))
            return 0;
    }
    static const char *const reserved[] = {
        "Content-Type", "User-Agent", "Host", "Content-Length", "Transfer-Encoding",
        "Connection", "Keep-Alive", "Expect", "TE", "Trailer", "Upgrade"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return 0;
    return strncasecmp(name, "Proxy-", 6) != 0 && strncasecmp(name, "X-TimeRush-", 11) != 0;
}

/* What the API must decide for value v: 1 accept, 0 refuse. */
static int api_should_accept(json_object *v)
{
    if (!json_object_is_type(v, json_type_object))
        return 0;
    size_t count = 0, bytes = 0;
    json_object_object_foreach(v, name, val)
    {
        if (!json_object_is_type(val, json_type_string))
            return 0;
        size_t n = (size_t)json_object_get_string_len(val);
        if (!tr_header_allowed(name, json_object_get_string(val), n))
            return 0;
        TR_FUZZ_CHECK(oracle_name_ok(name), "rule allows the name '%s'", name);
        /* A name given twice in two cases is refused (docs/API.md, headers). */
        json_object_object_foreach(v, earlier, unused)
        {
            (void)unused;
            if (earlier == name)
                break;
            if (strcasecmp(earlier, name) == 0)
                return 0;
        }
        count++;
        bytes += strlen(name) + n;
    }
    return count <= TR_REST_HEADERS_MAX && bytes <= TR_REST_HEADERS_BYTES;
}

static void stored_text(const char *text)
{
    json_object *o = json_tokener_parse(text);
    int members = o != NULL && json_object_is_type(o, json_type_object)
                      ? json_object_object_length(o) : -1;
    json_object_put(o);
    struct curl_slist *list = NULL;
    int skipped = -1;
    int rc = tr_headers_merge(&list, text, &skipped);
    int lines = 0;
    for (struct curl_slist *l = list; l != NULL; l = l->next, lines++) {
        TR_FUZZ_CHECK(strpbrk(l->data, "\r\n") == NULL, "CR or LF sent");
        size_t nl = strcspn(l->data, ":;");
        char *name = tr_fuzz_str(l->data, nl);
        TR_FUZZ_CHECK(oracle_name_ok(name), "sent the name '%s'", name);
        free(name);
    }
    if (rc == 0 && text[0] != '\0')
        TR_FUZZ_CHECK(members >= 0 && lines + skipped == members, "%d lines + %d skipped != %d",
                      lines, skipped, members);
    curl_slist_free_all(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    char msg[512];
    json_object *h = tr_json_parse_value((const char *)data, size, msg, sizeof msg);
    if (h != NULL) {
        int want = api_should_accept(h);
        tr_rest_create c;
        int got = tr_fuzz_parse_create_with("headers", h, &c, msg, sizeof msg);
        TR_FUZZ_CHECK(got == want, "API %s headers the rule %s: %s", got ? "accepted" : "refused",
                      want ? "allows" : "refuses", got ? "" : msg);
        if (got) {
            tr_fuzz_check_headers_sent(c.spec.headers_json);
            tr_rest_create_clear(&c);
        }
        json_object_put(h);
    }
    char *text = tr_fuzz_str(data, size);
    stored_text(text);
    free(text);
    return 0;
}
