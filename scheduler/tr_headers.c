#include "tr_headers.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

int tr_headers_reserved(const char *name)
{
    static const char *const exact[] = {
        "Content-Type", "User-Agent", "Expect", "Host", "Content-Length",
        "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Trailer", "Upgrade",
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcasecmp(name, exact[i]) == 0)
            return 1;
    return strncasecmp(name, "Proxy-", 6) == 0 || strncasecmp(name, "X-TimeRush-", 11) == 0;
}

/* RFC 9110 token characters. */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return 1;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int name_ok(const char *name)
{
    if (name[0] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (!is_tchar(*p))
            return 0;
    return 1;
}

static int value_ok(const char *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0')
            return 0;
    return 1;
}

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
        if (!json_object_is_type(val, json_type_string) || !name_ok(name) ||
            tr_headers_reserved(name)) {
            skip++;
            continue;
        }
        const char *v = json_object_get_string(val);
        size_t vlen = (size_t)json_object_get_string_len(val);
        if (!value_ok(v, vlen)) {
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
