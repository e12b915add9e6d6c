/* sink_spec.h - what timerush-sink answers: the SPEC strings and answer lists.
 *
 * A SPEC (ok, status:N, ret:N, timeout, close, chain:JSON, retry-after:N:S,
 * redirect:N:URL, slow:MS, garbage, drip:MS) is parsed once at startup into a tr_sink_spec that holds its
 * complete response bytes, so answering costs one copy. A list hands out its specs
 * in order, one per request, and repeats the last one.
 *
 * garbage: a line that is not HTTP at all, then the connection is closed (a client
 * must fail the request: no status line). drip:MS: the ok answer (200 {"ret":0}),
 * one byte every MS ms, the first MS ms after the request: the whole answer takes
 * about response_len * MS ms (79 bytes kept-alive, 98 with "Connection: close").
 */
#ifndef SINK_SPEC_H
#define SINK_SPEC_H

#include <stddef.h>

typedef enum tr_sink_kind {
    TR_SINK_ANSWER = 0,  /* send `response` now (ok, status, ret, chain, retry-after,
                          * redirect) */
    TR_SINK_SLOW = 1,    /* send `response` after delay_ms */
    TR_SINK_TIMEOUT = 2, /* never answer; keep the connection until the client leaves */
    TR_SINK_CLOSE = 3,   /* close the connection without answering */
    TR_SINK_GARBAGE = 4, /* send `response` (not HTTP), then close */
    TR_SINK_DRIP = 5     /* send `response` one byte every delay_ms */
} tr_sink_kind;

/* One parsed SPEC. Owns its buffers; clear with tr_sink_spec_clear(). */
typedef struct tr_sink_spec {
    tr_sink_kind kind;
    long delay_ms;        /* TR_SINK_SLOW: before the answer; TR_SINK_DRIP: per byte */
    char *response;       /* whole HTTP response, keep-alive form (garbage: the bytes
                           * sent); NULL for timeout/close */
    size_t response_len;
    char *response_close; /* same with "Connection: close" */
    size_t response_close_len;
} tr_sink_spec;

/* Parses `text`. Returns 0, or -1 with a one-line reason in err. */
int tr_sink_spec_parse(const char *text, tr_sink_spec *out, char *err, size_t errlen);

/* Frees the buffers; safe on a zeroed spec. */
void tr_sink_spec_clear(tr_sink_spec *spec);

/* An ordered list of specs with a cursor. Zero-initialise; free with
 * tr_sink_list_clear(). */
typedef struct tr_sink_list {
    tr_sink_spec *items;
    size_t count;
    size_t next;          /* index of the next spec handed out */
} tr_sink_list;

/* Parses and appends `text`. Returns 0, or -1 with a reason in err. */
int tr_sink_list_add(tr_sink_list *list, const char *text, char *err, size_t errlen);

/* The spec for the next request: in order, then the last one repeats. `fallback`
 * (an "ok" spec) is returned for an empty list. Valid while the list lives. */
const tr_sink_spec *tr_sink_list_next(tr_sink_list *list, const tr_sink_spec *fallback);

void tr_sink_list_clear(tr_sink_list *list);

#endif
