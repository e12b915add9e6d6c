/* tr_redis_info.h - reading Redis's INFO answers.
 *
 * INFO's text is "field:value" lines ending in "\r\n", with "# Section" headers. What
 * TimeRush reads of it is here, pure (no I/O), so it can be fuzzed
 * (tests/fuzz/fuzz_redis_info.c). Owns nothing.
 */
#ifndef TR_REDIS_INFO_H
#define TR_REDIS_INFO_H

#include <stddef.h>

/* The replicas an INFO replication answer (info, len bytes, not necessarily
 * NUL-terminated) lists as in sync: its lines "slave<k>:ip=...,port=...,state=online,
 * offset=...,lag=..." whose state field is "online" (a replica still loading its
 * first sync says "wait_bgsave" or "send_bulk"). 0 for any other text. */
long long tr_redis_info_online_replicas(const char *info, size_t len);

#endif
