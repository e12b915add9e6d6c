#include "tr_headers.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_header_rules.h"

int tr_headers_merge(struct curl_slist **list, const char *headers_json, int *skipped)
{
    int rc = -1, skip = 0;
    if (skipped != NULL)
        *skipped = 0;
    if (headers_json == NULL || headers_json[0] == '\0')
        return 0;
    json_object *o = json_tokener_parse(headers_json);
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto done;
    json_object_object_foreach(o, name, val)
    {
        const char *v = json_object_is_type(val, json_type_string) ? json_object_get_string(val)
                                                                    : NULL;
        size_t vlen = v != NULL ? (size_t)json_object_get_string_len(val) : 0;
        if (v == NULL || !tr_header_allowed(name, v, vlen)) {
            skip++;
            continue;
        }
        size_t need = strlen(name) + vlen + 3;
        char *line = malloc(need);
        if (line == NULL)
            goto done;
        /* An empty value would be "Name:" which curl reads as "remove the header";
         * "Name;" is curl's way to send it empty. */
        if (vlen == 0)
            snprintf(line, need, "%s;", name);
        else
            snprintf(line, need, "%s: %s", name, v);
        struct curl_slist *t = curl_slist_append(*list, line);
        free(line);
        if (t == NULL)
            goto done;
        *list = t;
    }
    rc = 0;
done:
    if (skipped != NULL)
        *skipped = skip;
    json_object_put(o);
    return rc;
}
