/* timer.c - a heap of due times and the thread that fires them. */
#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/util.h"

typedef struct entry {
    double due;
    unsigned long long seq; /* ties fire in the order they were added */
    sw_mock_timer_fn fn;
    void *arg;
} entry;

struct sw_mock_timer {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    entry *heap;
    size_t n, cap;
    unsigned long long seq;
    int flushed, quit;
};

static int before(const entry *a, const entry *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(sw_mock_timer *t, entry e)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->heap = sw_xrealloc(t->heap, t->cap * sizeof *t->heap);
    }
    size_t i = t->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &t->heap[parent]))
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
}

static entry heap_pop(sw_mock_timer *t)
{
    entry top = t->heap[0];
    entry last = t->heap[--t->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const entry *best = &last;
        if (l < t->n && before(&t->heap[l], best))
            m = l, best = &t->heap[l];
        if (r < t->n && before(&t->heap[r], best))
            m = r;
        if (m == i)
            break;
        t->heap[i] = t->heap[m];
        i = m;
    }
    if (t->n > 0)
        t->heap[i] = last;
    return top;
}

static struct timespec abs_time(double due_ms)
{
    struct timespec ts;
    double s = due_ms / 1e3;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *run(void *arg)
{
    sw_mock_timer *t = arg;
#ifdef PR_SET_TIMERSLACK
    /* Linux may defer a sleeping thread's wake-up by 50 us to batch timers; every
       answer's latency would carry that. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
    pthread_mutex_lock(&t->mu);
    while (!t->quit) {
        if (t->n == 0) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        double now = sw_now_ms();
        if (t->heap[0].due > now) {
            struct timespec ts = abs_time(t->heap[0].due);
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
            continue;
        }
        entry e = heap_pop(t);
        pthread_mutex_unlock(&t->mu);
        e.fn(e.arg);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

sw_mock_timer *sw_mock_timer_new(void)
{
    sw_mock_timer *t = sw_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* sw_now_ms reads CLOCK_MONOTONIC: the waits must use the same clock. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, run, t) != 0)
        abort(); /* like an allocation failure: the process cannot do its job */
    return t;
}

void sw_mock_timer_add(sw_mock_timer *t, double due_ms, sw_mock_timer_fn fn, void *arg)
{
    pthread_mutex_lock(&t->mu);
    if (t->flushed) {
        pthread_mutex_unlock(&t->mu);
        fn(arg);
        return;
    }
    entry e = {due_ms, t->seq++, fn, arg};
    heap_push(t, e);
    /* Wake the thread only when its next wake-up moved earlier. */
    if (t->heap[0].seq == e.seq)
        pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void sw_mock_timer_flush(sw_mock_timer *t)
{
    pthread_mutex_lock(&t->mu);
    t->flushed = 1;
    entry *all = t->heap;
    size_t n = t->n;
    t->heap = NULL;
    t->n = t->cap = 0;
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < n; i++)
        all[i].fn(all[i].arg);
    free(all);
}

size_t sw_mock_timer_pending(sw_mock_timer *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}

void sw_mock_timer_free(sw_mock_timer *t)
{
    if (!t)
        return;
    sw_mock_timer_flush(t);
    pthread_mutex_lock(&t->mu);
    t->quit = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t->heap);
    free(t);
}
