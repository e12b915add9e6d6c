/* tr_url.h - callback URL validation, with libcurl's URL API: http(s) URLs, and the
 * targets of the TCP notifier (tcp://HOST:PORT, bare HOST:PORT, and tls://HOST:PORT:
 * the same lines over TLS) and of the stream notifier (redis-stream://NAME). */
#ifndef TR_URL_H
#define TR_URL_H

#include <stddef.h>

#define TR_URL_MAX 2048 /* longest callback URL accepted, bytes */

/* Returns 0 when `url` is an absolute http:// or https:// URL with a host, no
 * user:password part, no port 0 and at most TR_URL_MAX bytes; otherwise -1 and a short reason
 * in msg (e.g. "callback_cmd: scheme must be http or https"). `field` names the
 * field in the reason. */
int tr_url_check(const char *url, const char *field, char *msg, size_t msglen);

/* 1 when url has the form of a TCP notifier target: "tcp://" or "tls://" followed
 * by anything, or the original TimeRush's bare "HOST:PORT" (no "://", no '/', '?',
 * '#', '@' or blank, digits after the last ':'); else 0. The form only:
 * tr_url_tcp_parse() says whether it is valid. */
int tr_url_is_tcp(const char *url);

/* 1 when url starts with "tls://" (any case): a TCP target spoken over TLS. */
int tr_url_is_tls(const char *url);

/* Reads a TCP target: tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT, HOST a name, an IPv4 address
 * or [IPv6], PORT 1..65535, nothing else (no path, no user@). Fills host (as
 * libcurl reads it: lowercased, IPv6 in brackets), *port, and as_http with
 * "http://HOST:PORT/": the URL libcurl connects to (CURLOPT_CONNECT_ONLY) and the
 * destination policy judges, so a TCP target is checked exactly as an http one.
 * Any of host, port, as_http may be NULL. 0, or -1 with a reason naming `field`. */
int tr_url_tcp_parse(const char *url, const char *field, char *as_http, size_t as_http_len,
                     char *host, size_t hostlen, int *port, char *msg, size_t msglen);

/* Redis stream targets (the stream notifier, docs/PROTOCOL.md "Redis stream
 * targets"): "redis-stream://NAME", NAME 1..TR_URL_STREAM_MAX bytes of
 * A-Z a-z 0-9 _ . : - (no braces, so the key {P}:stream:NAME keeps the timers'
 * hash slot; nothing a shell or a log line would need to quote). */
#define TR_URL_STREAM_PREFIX "redis-stream://"
#define TR_URL_STREAM_MAX 128

/* 1 when url starts with "redis-stream://" (any case); the form only. */
int tr_url_is_stream(const char *url);

/* The stream name of a stream target: a pointer into url (valid while url is), or
 * NULL with a reason naming `field` when the name breaks the rules above. */
const char *tr_url_stream_name(const char *url, const char *field, char *msg, size_t msglen);

/* What a callback target (callback_cmd, /v1/timers url) accepts: an http(s) URL
 * (tr_url_check), a TCP target (tr_url_tcp_parse) or a stream target
 * (tr_url_stream_name). 0, or -1 with a reason. */
int tr_url_check_target(const char *url, const char *field, char *msg, size_t msglen);

#endif
