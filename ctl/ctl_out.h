/* ctl_out.h - human output of timerushctl: times, durations and aligned tables.
 *
 * Text from the server (keys, URLs, errors) is printed with control characters
 * replaced by '?', so a timer's fields cannot move the cursor or retitle a terminal.
 */
#ifndef CTL_OUT_H
#define CTL_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Wall clock, ms since the epoch. */
int64_t ctl_out_now_ms(void);

/* epoch ms as RFC 3339 in UTC with milliseconds: 2026-12-01T22:20:22.123Z. */
void ctl_out_time(int64_t epoch_ms, char *buf, size_t len);

/* A duration for people: 850ms, 4.2s, 1m05s, 2h03m, 3d04h (negative: as positive). */
void ctl_out_duration(int64_t ms, char *buf, size_t len);

/* A point in time relative to now, given as ms from now: "in 4.2s", "3m12s ago",
 * "now" (within half a second). */
void ctl_out_relative(int64_t delta_ms, char *buf, size_t len);

/* Copies s into buf with control characters as '?'. Returns buf. */
char *ctl_out_safe(const char *s, char *buf, size_t len);

/* A table: a header row and rows of cells, printed with every column but the last
 * padded to its widest cell, two spaces apart. */
typedef struct ctl_table ctl_table;

#define CTL_TABLE_COLS_MAX 16

/* A table of ncols (1..CTL_TABLE_COLS_MAX) columns named by heads (copied). Caller
 * frees with ctl_table_free(). NULL when out of memory or ncols is out of range. */
ctl_table *ctl_table_new(int ncols, const char *const *heads);

/* Appends a row of ncols cells (copied, made safe; NULL prints "-"). 0, or -1 when
 * out of memory. */
int ctl_table_add(ctl_table *t, const char *const *cells);

/* Rows added so far. */
size_t ctl_table_rows(const ctl_table *t);

/* Prints the header and every row. with_header 0 leaves the header out (the next
 * page of a listing). */
void ctl_table_print(const ctl_table *t, FILE *out, int with_header);

/* Frees t (NULL is fine). */
void ctl_table_free(ctl_table *t);

#endif
