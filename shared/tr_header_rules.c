#include "tr_header_rules.h"

#include <string.h>
#include <strings.h>

/* The names, lower case; the prefixes end with '-'. */
static const char *const reserved_names[] = {
    "content-type", "user-agent", "host",    "content-length", "transfer-encoding",
    "connection",   "keep-alive", "expect",  "te",             "trailer",
    "upgrade",
    /* Standard Webhooks: the scheduler signs with them (--signing-secret-file);
     * reserved whether or not it does, as a timer can outlive that setting. */
    "webhook-id",   "webhook-timestamp", "webhook-signature",
};
static const char *const reserved_prefixes[] = {"proxy-", "x-timerush-"};

int tr_header_name_is_token(const char *name)
{
    if (name[0] == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9');
        if (!alnum && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
            return 0;
    }
    return 1;
}

int tr_header_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++)
        if (strcasecmp(name, reserved_names[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof reserved_prefixes / sizeof reserved_prefixes[0]; i++)
        if (strncasecmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
            return 1;
    return 0;
}

int tr_header_value_ok(const char *value, size_t len)
{
    /* curl drops a header whose value is only whitespace ("Name:  " means "remove
     * Name"), and receivers strip whitespace around a value (RFC 9110 OWS): either
     * way the value sent would not be the one stored. Empty is fine: tr_headers.c
     * sends it as curl's "Name;". */
    if (len > 0 && (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' ||
                    value[len - 1] == '\t'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int tr_header_allowed(const char *name, const char *value, size_t len)
{
    return tr_header_name_is_token(name) && !tr_header_reserved(name) &&
           tr_header_value_ok(value, len);
}

int tr_header_secret(const char *name)
{
    /* Proxy-Authorization is reserved (refused at create) but listed all the same:
     * a record written by another version may hold it. */
    static const char *const secret[] = {"authorization", "cookie", "proxy-authorization"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcasecmp(name, secret[i]) == 0)
            return 1;
    return 0;
}
