/* sink_log.h - the request log of timerush-sink: one JSON object per line.
 *
 * {"n":..,"t_us":..,"method":"..","path":"..","key":"..","attempt":..,"due_ms":..,
 *  "ctype":"..","body":"..", "webhook":{"id":"..","timestamp":"..","signature":".."}}
 * ("webhook" only when a request carries any of the Standard Webhooks headers).
 * Each line goes out in one write(2) on an O_APPEND descriptor, so a reader never
 * sees half a line from a complete request.
 */
#ifndef SINK_LOG_H
#define SINK_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "sink_http.h"

/* A reusable line buffer. Zero-initialise; free with tr_sink_log_clear(). */
typedef struct tr_sink_log {
    int fd;           /* -1: logging off */
    char *buf;
    size_t cap;
} tr_sink_log;

/* Appends the line for request number n, completed at t_us (wall clock, µs).
 * Returns 0, or -1 on a write or allocation failure. */
int tr_sink_log_request(tr_sink_log *log, uint64_t n, int64_t t_us, const tr_sink_req *req);

void tr_sink_log_clear(tr_sink_log *log);

#endif
