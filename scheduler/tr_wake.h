/* tr_wake.h - the scheduler's wake-up line: a Redis pub/sub subscription to
 * {P}:wake (with --shards S > 1, to every shard's {P:i}:wake, in one SUBSCRIBE), on
 * its own connection, whose socket the scheduler's poll watches.
 *
 * Every script that makes a timer the earliest in {P}:due publishes its due time
 * there, so a scheduler sleeping until a later time wakes at once. Messages can be
 * lost while disconnected; the scheduler claims again after every reconnect, so
 * nothing depends on them for correctness, only for promptness.
 */
#ifndef TR_WAKE_H
#define TR_WAKE_H

#include <stdint.h>

#include "tr_config.h"

typedef struct tr_wake tr_wake;

/* No I/O. cfg must outlive it. NULL when out of memory. */
tr_wake *tr_wake_new(const tr_config *cfg);
void tr_wake_free(tr_wake *wake); /* takes NULL */

/* Connects and subscribes (when not connected). 0 or -1 (see tr_wake_error()). */
int tr_wake_connect(tr_wake *wake);

/* The socket to poll for reading, or -1 when not connected. */
int tr_wake_fd(const tr_wake *wake);

/* Call when tr_wake_fd() is readable: reads every complete message without
 * blocking. Sets *earliest_due_ms to the smallest due time announced (unchanged
 * when none). Returns the number of messages, or -1 when the connection broke
 * (it is closed; tr_wake_connect() again later). */
int tr_wake_drain(tr_wake *wake, int64_t *earliest_due_ms);

const char *tr_wake_error(const tr_wake *wake);

#endif
