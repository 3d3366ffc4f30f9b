/*
 * queue.c: a bounded blocking queue of pointers (ring buffer, one mutex, two
 * condition variables). The bound is what keeps memory flat however large the
 * input: producers block while consumers are behind.
 */
#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct fr_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    void **items;
    size_t cap, head, count;
    size_t waiting_pop, waiting_push; /* signal only when someone waits */
    size_t wake_at;                   /* ... and, for consumers, once this many wait */
    int closed;
};

fr_queue *fr_queue_new(size_t capacity)
{
    fr_queue *q = fr_xcalloc(1, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    q->cap = capacity ? capacity : 1;
    q->wake_at = 1;
    q->items = fr_xcalloc(q->cap, sizeof(void *));
    return q;
}

void fr_queue_free(fr_queue *q)
{
    if (!q) return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->items);
    free(q);
}

/* Appends an item (the lock held, room checked); wakes a consumer once enough
 * items are waiting. */
static void put(fr_queue *q, void *item)
{
    q->items[(q->head + q->count) % q->cap] = item;
    q->count++;
    if (q->waiting_pop && (q->count >= q->wake_at || q->count == q->cap))
        pthread_cond_signal(&q->not_empty);
}

int fr_queue_push(fr_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap && !q->closed) {
        q->waiting_push++;
        pthread_cond_wait(&q->not_full, &q->mu);
        q->waiting_push--;
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return FR_ERR;
    }
    put(q, item);
    pthread_mutex_unlock(&q->mu);
    return FR_OK;
}

static void *take(fr_queue *q)
{
    void *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    /* Producers blocked on a full queue wake when it is half drained, not at
     * every free slot: one wake-up per batch instead of a ping-pong per item. */
    if (q->waiting_push && q->count <= q->cap / 2) pthread_cond_broadcast(&q->not_full);
    return item;
}

void *fr_queue_pop(fr_queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) {
        q->waiting_pop++;
        pthread_cond_wait(&q->not_empty, &q->mu);
        q->waiting_pop--;
    }
    void *item = q->count ? take(q) : NULL;
    pthread_mutex_unlock(&q->mu);
    return item;
}

void *fr_queue_pop_timed(fr_queue *q, int timeout_ms, int *timed_out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    *timed_out = 0;
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed) {
        q->waiting_pop++;
        int rc = pthread_cond_timedwait(&q->not_empty, &q->mu, &ts);
        q->waiting_pop--;
        if (rc == ETIMEDOUT) {
            if (q->count == 0 && !q->closed) *timed_out = 1;
            break;
        }
    }
    void *item = q->count ? take(q) : NULL;
    pthread_mutex_unlock(&q->mu);
    return item;
}

void fr_queue_close(fr_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

void fr_queue_set_wake(fr_queue *q, size_t n)
{
    pthread_mutex_lock(&q->mu);
    q->wake_at = n ? (n < q->cap ? n : q->cap) : 1;
    pthread_mutex_unlock(&q->mu);
}

int fr_queue_trypush(fr_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    if (q->count == q->cap || q->closed) {
        pthread_mutex_unlock(&q->mu);
        return FR_ERR;
    }
    put(q, item);
    pthread_mutex_unlock(&q->mu);
    return FR_OK;
}

void *fr_queue_trypop(fr_queue *q)
{
    pthread_mutex_lock(&q->mu);
    void *item = q->count ? take(q) : NULL;
    pthread_mutex_unlock(&q->mu);
    return item;
}
