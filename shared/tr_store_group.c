/* tr_store_group.c - see tr_store_group.h. */
#include "tr_store_group.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_store_int.h"

/* The creates of one caller waiting for (or riding in) a group call; on the
 * caller's stack. */
typedef struct group_item {
    const tr_create *creates;
    size_t n;                  /* <= TR_STORE_CREATE_CHUNK */
    tr_create_result *results; /* n, the caller's */
    int64_t *due_ms;           /* n, the caller's */
    int64_t now_ms;
    int state; /* 0 waiting, 1 answered, -1 failed (err_code, err) */
    tr_ret err_code;
    char err[256];
    struct group_item *next;
} group_item;

struct tr_store_group {
    pthread_mutex_t lock;
    pthread_cond_t answered;
    int calling;            /* a call is running (its sender has the arrays below) */
    group_item *head, *tail; /* waiting, oldest first */
    tr_store *store;        /* used by the sender only */
    /* The sender's arguments and answers for one call. */
    tr_create items[TR_STORE_CREATE_CHUNK];
    tr_create_result results[TR_STORE_CREATE_CHUNK];
    int64_t due[TR_STORE_CREATE_CHUNK];
    group_item *batch[TR_STORE_CREATE_CHUNK];
};

tr_store_group *tr_store_group_new(const tr_config *cfg)
{
    tr_store_group *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->store = tr_store_new(cfg);
    if (g->store == NULL) {
        free(g);
        return NULL;
    }
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        tr_store_free(g->store);
        free(g);
        return NULL;
    }
    if (pthread_cond_init(&g->answered, NULL) != 0) {
        pthread_mutex_destroy(&g->lock);
        tr_store_free(g->store);
        free(g);
        return NULL;
    }
    return g;
}

void tr_store_group_free(tr_store_group *g)
{
    if (g == NULL)
        return;
    pthread_cond_destroy(&g->answered);
    pthread_mutex_destroy(&g->lock);
    tr_store_free(g->store);
    free(g);
}

void tr_store_join_group(tr_store *store, tr_store_group *group)
{
    store->group = group;
}

/* Sends the callers that wait, oldest first, as one call of at most
 * TR_STORE_CREATE_CHUNK creates (a caller's creates never split across calls). Lock
 * held on entry and on return; released during the call. */
static void send_waiting(tr_store_group *g)
{
    size_t callers = 0, n = 0;
    while (g->head != NULL && n + g->head->n <= TR_STORE_CREATE_CHUNK) {
        group_item *it = g->head;
        g->head = it->next;
        g->batch[callers++] = it;
        memcpy(g->items + n, it->creates, it->n * sizeof *it->creates);
        n += it->n;
    }
    if (g->head == NULL)
        g->tail = NULL;
    g->calling = 1;
    pthread_mutex_unlock(&g->lock);

    int64_t now = 0;
    int rc = tr_store_create(g->store, g->items, n, g->results, g->due, &now);

    pthread_mutex_lock(&g->lock);
    size_t off = 0;
    for (size_t i = 0; i < callers; i++) {
        group_item *it = g->batch[i];
        if (rc == 0) {
            memcpy(it->results, g->results + off, it->n * sizeof *it->results);
            memcpy(it->due_ms, g->due + off, it->n * sizeof *it->due_ms);
            it->now_ms = now;
            it->state = 1;
        } else {
            it->err_code = tr_store_error_code(g->store);
            snprintf(it->err, sizeof it->err, "%s", tr_store_error(g->store));
            it->state = -1;
        }
        off += it->n;
    }
    g->calling = 0;
    pthread_cond_broadcast(&g->answered);
}

int tr_store_group_create(tr_store *store, const tr_create *creates, size_t n,
                          tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    tr_store_group *g = store->group;
    group_item it;
    memset(&it, 0, sizeof it);
    it.creates = creates;
    it.n = n;
    it.results = results;
    it.due_ms = due_ms;
    pthread_mutex_lock(&g->lock);
    if (g->tail != NULL)
        g->tail->next = &it;
    else
        g->head = &it;
    g->tail = &it;
    while (it.state == 0) {
        if (!g->calling)
            send_waiting(g); /* the oldest go first: ours, or ours comes next */
        else
            pthread_cond_wait(&g->answered, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    if (it.state < 0) {
        tr_store_set_error(store, it.err_code, "%s", it.err);
        return -1;
    }
    *now_ms = it.now_ms;
    return 0;
}
