/*
 * shadow.h - copies of requests sent to a shadow version, off the primary path.
 *
 * A worker thread with its own libcurl multi handle (so its own connections
 * and timeouts) takes jobs from a bounded queue; a job that does not fit is
 * refused at once (the router counts it as dropped), so the primary request
 * never waits for anything shadow. Finished jobs are handed back through a
 * list and an eventfd the router's event loop watches.
 *
 * A job is also one shadow pair: the loop hands the primary's side over with
 * sw_shadow_primary (passed on at the loop's next sw_shadow_flush, one lock
 * per turn), and once the worker holds both sides it calls the job's
 * `complete` (on the worker thread: the answers are parsed and compared there,
 * off the primary path). Only then is the job handed back, so the loop's work
 * per pair is the bookkeeping of a finished record. A job whose primary never
 * comes waits until sw_shadow_stop.
 *
 * Ownership: sw_shadow_submit takes the job when it returns 0; the submitter
 * may still call sw_shadow_primary on it once (the job is not freed before
 * that, only at sw_shadow_stop); jobs from sw_shadow_take_done belong to the
 * caller (sw_shadow_job_free).
 */
#ifndef SW_ROUTER_SHADOW_H
#define SW_ROUTER_SHADOW_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* What one version answered, in brief. */
typedef struct sw_pair_side {
    int status;
    double latency_ms;
    uint32_t tokens_in, tokens_out;
    char *error; /* NULL: none */
    sw_buf text;
    json_t *tools; /* [{"name", "arguments"}] or NULL */
    sw_buf raw;    /* or the whole answer, text and tools still to be read from it */
} sw_pair_side;

typedef struct sw_shadow_job sw_shadow_job;
typedef void (*sw_shadow_complete_fn)(sw_shadow_job *job);

struct sw_shadow_job {
    struct sw_shadow_job *next;
    /* the pair, set by the submitter */
    uint64_t pair_id;
    int64_t t_ms;
    char *agent, *session, *primary_version, *shadow_version;
    int pairs_fd; /* -1: no pairs file */
    sw_shadow_complete_fn complete;
    sw_pair_side primary; /* written by the loop before sw_shadow_primary */
    /* the finished pair, set by complete */
    json_t *record;
    int different, failed;
    char *url;
    char *auth; /* a whole "Authorization: ..." header, or NULL */
    char *body;
    size_t len;
    /* filled by the worker */
    long status;
    int curl_code;
    char error[CURL_ERROR_SIZE];
    double latency_ms;
    sw_buf response;
    int too_big;
    /* the worker's */
    size_t cap;
    double t_start;
    CURL *easy;
    struct curl_slist *headers;
    struct sw_shadow_job *running_next;
    struct sw_shadow_job *handoff_next; /* the loop's */
    /* under the mutex */
    int shadow_done, have_primary;
    struct sw_shadow_job *wait_prev, *wait_next;
};

#define SW_SHADOW_IDLE_MAX 64

typedef struct sw_shadow {
    pthread_t thread;
    pthread_mutex_t mu;
    CURLM *multi;
    sw_shadow_job *queue, *queue_tail, *done, *done_tail;
    sw_shadow_job *waiting;            /* answered, the primary's side still to come */
    sw_shadow_job *ready, *ready_tail; /* both sides in, to complete */
    sw_shadow_job *running;            /* the worker thread's only */
    sw_shadow_job *handoff;            /* the loop's only: primaries not yet handed over */
    CURL *idle[SW_SHADOW_IDLE_MAX];    /* the worker's idle easy handles, reused */
    size_t n_idle;
    size_t queued, inflight, cap, concurrency;
    long timeout_ms, connect_timeout_ms;
    size_t max_response;
    int notify_fd;
    int stop;
    int started;
} sw_shadow;

int sw_shadow_start(sw_shadow *s, size_t queue_cap, size_t concurrency, long timeout_ms,
                    long connect_timeout_ms, size_t max_response, int notify_fd, sw_err *err);
/* 0: queued (the job is the worker's now); -1: the queue is full (the job stays the caller's). */
int sw_shadow_submit(sw_shadow *s, sw_shadow_job *job);
/* The primary's side of a submitted job is in job->primary (loop thread, once per job). It is
   handed to the worker at the next sw_shadow_flush. */
void sw_shadow_primary(sw_shadow *s, sw_shadow_job *job);
/* Hand the primaries since the last flush to the worker: one lock, at most one wake-up (the loop
   calls it once per turn). */
void sw_shadow_flush(sw_shadow *s);
/* Every finished job, oldest first (a list through ->next). */
sw_shadow_job *sw_shadow_take_done(sw_shadow *s);
/* Abandon queued, running and waiting jobs and stop the worker. */
void sw_shadow_stop(sw_shadow *s);
void sw_shadow_job_free(sw_shadow_job *job);
void sw_pair_side_free(sw_pair_side *side);

#endif
