/* tr_fd_queue.c - see tr_fd_queue.h. */
#include "tr_fd_queue.h"

#include <stdlib.h>
#include <unistd.h>

#define FIRST_CAP 64

int tr_fd_queue_init(tr_fd_queue *q)
{
    q->fds = malloc(FIRST_CAP * sizeof *q->fds);
    if (q->fds == NULL)
        return -1;
    q->cap = FIRST_CAP;
    q->head = 0;
    q->len = 0;
    q->closed = 0;
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q->fds);
        return -1;
    }
    if (pthread_cond_init(&q->ready, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        free(q->fds);
        return -1;
    }
    return 0;
}

void tr_fd_queue_destroy(tr_fd_queue *q)
{
    for (size_t i = 0; i < q->len; i++)
        close(q->fds[(q->head + i) % q->cap]);
    free(q->fds);
    q->fds = NULL;
    pthread_cond_destroy(&q->ready);
    pthread_mutex_destroy(&q->lock);
}

/* Doubles the ring, unrolling it so the oldest entry is first. Lock held. */
static int grow(tr_fd_queue *q)
{
    size_t cap = q->cap * 2;
    int *fds = malloc(cap * sizeof *fds);
    if (fds == NULL)
        return -1;
    for (size_t i = 0; i < q->len; i++)
        fds[i] = q->fds[(q->head + i) % q->cap];
    free(q->fds);
    q->fds = fds;
    q->cap = cap;
    q->head = 0;
    return 0;
}

int tr_fd_queue_push(tr_fd_queue *q, int fd)
{
    int rc = -1;
    pthread_mutex_lock(&q->lock);
    if (!q->closed && (q->len < q->cap || grow(q) == 0)) {
        q->fds[(q->head + q->len) % q->cap] = fd;
        q->len++;
        pthread_cond_signal(&q->ready);
        rc = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int tr_fd_queue_pop(tr_fd_queue *q)
{
    int fd = -1;
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->ready, &q->lock);
    if (q->len > 0) {
        fd = q->fds[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->lock);
    return fd;
}

void tr_fd_queue_close(tr_fd_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}
