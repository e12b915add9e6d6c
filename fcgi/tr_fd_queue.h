/* tr_fd_queue.h - a FIFO of connection descriptors between timerush-fcgi's
 * dispatcher (which accepts connections and watches idle kept-alive ones) and its
 * request threads (which serve one request from a descriptor, then give it back).
 *
 * The queue owns nothing: a descriptor popped belongs to the thread that popped it.
 * It grows as needed (there are never more entries than open descriptors).
 * Thread-safe; a mutex and a condition variable.
 */
#ifndef TR_FD_QUEUE_H
#define TR_FD_QUEUE_H

#include <pthread.h>
#include <stddef.h>

typedef struct tr_fd_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    int *fds;    /* ring buffer of cap entries */
    size_t cap;
    size_t head; /* index of the oldest entry */
    size_t len;
    int closed;  /* set by tr_fd_queue_close: pops drain what is left, then fail */
} tr_fd_queue;

/* 0, or -1 (out of memory or a pthread error). */
int tr_fd_queue_init(tr_fd_queue *q);

/* Frees the buffer. Descriptors still queued are closed (nobody will serve them). */
void tr_fd_queue_destroy(tr_fd_queue *q);

/* Appends fd and wakes one waiting thread. 0, or -1 when out of memory or closed:
 * the caller still owns fd. */
int tr_fd_queue_push(tr_fd_queue *q, int fd);

/* Takes the oldest descriptor, waiting while the queue is empty. -1 once the queue
 * is closed and empty. */
int tr_fd_queue_pop(tr_fd_queue *q);

/* No more pushes; wakes every waiting thread. Queued descriptors can still be popped. */
void tr_fd_queue_close(tr_fd_queue *q);

#endif
