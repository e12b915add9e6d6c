#include "tr_mem.h"

#include <stdlib.h>
#include <string.h>

char *tr_dup_bytes(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    if (len > 0)
        memcpy(out, p, len);
    out[len] = '\0';
    return out;
}

char *tr_str_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int tr_line_next(FILE *f, char *buf, size_t cap, int *lineno, char **out)
{
    while (fgets(buf, (int)cap, f) != NULL) {
        (*lineno)++;
        if (strchr(buf, '\n') == NULL && !feof(f))
            return -1;
        char *hash = strchr(buf, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = tr_str_trim(buf);
        if (*s != '\0') {
            *out = s;
            return 1;
        }
    }
    return 0;
}
