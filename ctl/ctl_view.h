/* ctl_view.h - how a timer object (docs/API.md, "The timer object") is shown to
 * people: a row of a listing, or one field a line.
 */
#ifndef CTL_VIEW_H
#define CTL_VIEW_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl_out.h"

/* The columns of a listing: KEY STATE DUE WHEN ATTEMPTS URL, and for the dead-letter
 * set KEY STATE DEAD-AT WHEN ATTEMPTS LAST-ERROR URL. Caller frees with
 * ctl_table_free(); NULL when out of memory. */
ctl_table *ctl_view_list_table(int dead);

/* Adds timer as a row of a table from ctl_view_list_table(dead). now_ms: the wall
 * clock (dead timers show how long ago they died). 0, or -1 when out of memory. */
int ctl_view_list_row(ctl_table *t, json_object *timer, int dead, int64_t now_ms);

/* Prints every field of timer, one "name  value" a line: times as RFC 3339 and
 * relative, objects as compact JSON. */
void ctl_view_timer(json_object *timer, int64_t now_ms, FILE *out);

#endif
