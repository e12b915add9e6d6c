/* ctl_out.c - times, durations and tables for people (ctl_out.h). */
#include "ctl_out.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tr_mem.h"

int64_t ctl_out_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ctl_out_time(int64_t epoch_ms, char *buf, size_t len)
{
    time_t s = (time_t)(epoch_ms / 1000);
    struct tm tm;
    if (epoch_ms < 0 || gmtime_r(&s, &tm) == NULL) {
        snprintf(buf, len, "%lld", (long long)epoch_ms);
        return;
    }
    char day[32];
    if (strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, len, "%lld", (long long)epoch_ms);
        return;
    }
    snprintf(buf, len, "%s.%03dZ", day, (int)(epoch_ms % 1000));
}

void ctl_out_duration(int64_t ms, char *buf, size_t len)
{
    if (ms < 0)
        ms = ms == INT64_MIN ? INT64_MAX : -ms;
    int64_t s = ms / 1000;
    if (ms < 1000)
        snprintf(buf, len, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(buf, len, "%lld.%llds", (long long)s, (long long)(ms % 1000 / 100));
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
}

void ctl_out_relative(int64_t delta_ms, char *buf, size_t len)
{
    char d[32];
    if (delta_ms > -500 && delta_ms < 500) {
        snprintf(buf, len, "now");
        return;
    }
    ctl_out_duration(delta_ms, d, sizeof d);
    if (delta_ms > 0)
        snprintf(buf, len, "in %s", d);
    else
        snprintf(buf, len, "%s ago", d);
}

char *ctl_out_safe(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    if (len == 0)
        return buf;
    for (; s[i] != '\0' && i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

struct ctl_table {
    int ncols;
    char **heads;    /* ncols */
    char **cells;    /* rows * ncols, row-major */
    size_t rows, cap; /* rows used and allocated */
};

/* A safe copy of s ("-" for NULL); NULL when out of memory. */
static char *safe_dup(const char *s)
{
    if (s == NULL)
        s = "-";
    char *d = tr_dup_bytes(s, strlen(s));
    if (d != NULL)
        ctl_out_safe(s, d, strlen(s) + 1);
    return d;
}

ctl_table *ctl_table_new(int ncols, const char *const *heads)
{
    if (ncols < 1 || ncols > CTL_TABLE_COLS_MAX)
        return NULL;
    ctl_table *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->ncols = ncols;
    t->heads = calloc((size_t)ncols, sizeof *t->heads);
    if (t->heads == NULL) {
        free(t);
        return NULL;
    }
    for (int i = 0; i < ncols; i++) {
        t->heads[i] = safe_dup(heads[i]);
        if (t->heads[i] == NULL) {
            ctl_table_free(t);
            return NULL;
        }
    }
    return t;
}

int ctl_table_add(ctl_table *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (c == NULL)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->rows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = safe_dup(cells[i]);
        if (row[i] == NULL) {
            while (i-- > 0)
                free(row[i]);
            return -1;
        }
    }
    t->rows++;
    return 0;
}

size_t ctl_table_rows(const ctl_table *t)
{
    return t->rows;
}

static void print_row(char *const *row, const size_t *width, int ncols, FILE *out)
{
    for (int i = 0; i < ncols; i++) {
        if (i == ncols - 1)
            fprintf(out, "%s\n", row[i]);
        else
            fprintf(out, "%-*s  ", (int)width[i], row[i]);
    }
}

void ctl_table_print(const ctl_table *t, FILE *out, int with_header)
{
    size_t width[CTL_TABLE_COLS_MAX] = {0};
    int ncols = t->ncols;
    for (int i = 0; i < ncols; i++)
        width[i] = strlen(t->heads[i]);
    for (size_t r = 0; r < t->rows; r++)
        for (int i = 0; i < ncols; i++) {
            size_t n = strlen(t->cells[r * (size_t)t->ncols + i]);
            if (n > width[i])
                width[i] = n;
        }
    if (with_header)
        print_row(t->heads, width, ncols, out);
    for (size_t r = 0; r < t->rows; r++)
        print_row(t->cells + r * (size_t)t->ncols, width, ncols, out);
}

void ctl_table_free(ctl_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->rows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    if (t->heads != NULL)
        for (int i = 0; i < t->ncols; i++)
            free(t->heads[i]);
    free(t->heads);
    free(t);
}
