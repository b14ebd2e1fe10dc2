/*
 * shadow.h - copies of requests sent to a shadow version, off the primary path.
 *
 * A worker thread takes jobs from a bounded queue; a job that does not fit is
 * refused at once (the router counts it as dropped), so the primary request
 * never waits for anything shadow. Finished jobs are handed back through a
 * list and an eventfd the router's event loop watches.
 *
 * The worker sends its copies with the same two clients as the loop, instances
 * of its own (so its own connections and timeouts): the router's HTTP/1.1 client
 * (upstream.h, on an epoll set of the worker's) for every URL sw_up_handles
 * takes, libcurl's multi interface for the rest (https, host names, proxies).
 * It waits in curl_multi_poll, with its epoll descriptor as an extra descriptor,
 * so curl_multi_wakeup is how the other threads wake it.
 *
 * A job is also one shadow pair: the loop hands the primary's side over with
 * sw_shadow_primary (passed on at the loop's next sw_shadow_flush, one lock
 * per turn), and once the worker holds both sides it calls the job's
 * `complete` (on the worker thread: the answers are parsed and compared there,
 * off the primary path). Only then is the job handed back, so the loop's work
 * per pair is the bookkeeping of a finished record. A job whose primary never
 * comes waits until sw_shadow_stop.
 *
 * The worker holds the lock only to move jobs between lists (never while it
 * sets up or runs a transfer), so the loop, taking the same lock, does not
 * wait on a worker the scheduler has put aside.
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
#include "upstream.h"

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
/* On the worker, before the transfer: makes job->request from job->body (0), or fills
   job->error and fails the copy (-1). */
typedef int (*sw_shadow_prepare_fn)(sw_shadow_job *job);

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
    /* The client's request as it came (the loop's allocation, freed with the job). */
    char *body;
    size_t len;
    json_t *manifest; /* gateway: the shadow release's manifest, a reference */
    int proto;        /* the sw_proto_id both answers are in */
    /* What is sent: made from body on the worker by `prepare` (not streamed; rewritten by
       the manifest), so that the loop only copies bytes. The worker frees it when the
       transfer ends: each thread frees what it allocated, as a free into another thread's
       malloc arena takes that arena's lock. */
    char *request;
    size_t request_len;
    sw_shadow_prepare_fn prepare; /* NULL: the body is sent as it is */
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
    struct sw_shadow *shadow;
    CURL *easy; /* a libcurl transfer, or */
    struct curl_slist *headers;
    sw_up_call *upc; /* a call of the router's own client */
    char *up_hdrs;   /* its header lines, when they are not the constant ones (job->auth) */
    struct sw_shadow_job *running_next;
    struct sw_shadow_job *handoff_next; /* the loop's */
    /* under the mutex */
    int shadow_done, have_primary;
    struct sw_shadow_job *wait_prev, *wait_next;
};

#define SW_SHADOW_IDLE_MAX  64
#define SW_SHADOW_TRASH_MAX 512

typedef struct sw_shadow {
    pthread_t thread;
    pthread_mutex_t mu;
    CURLM *multi;
    int epfd;  /* the worker's epoll set: its sw_up connections only */
    sw_up *up; /* the worker's */
    sw_shadow_job *queue, *queue_tail, *done, *done_tail;
    sw_shadow_job *waiting;            /* answered, the primary's side still to come */
    sw_shadow_job *ready, *ready_tail; /* both sides in, to complete */
    sw_shadow_job *running;            /* the worker thread's only */
    sw_shadow_job *fin;                /* the worker's: transfers ended this turn */
    sw_shadow_job *handoff;            /* the loop's only: primaries not yet handed over */
    CURL *idle[SW_SHADOW_IDLE_MAX];    /* the worker's idle easy handles, reused */
    /* Values the worker made, handed back to it to release: the loop's (trash_out) until its
       next flush, then under the mutex (trash). */
    json_t *trash[SW_SHADOW_TRASH_MAX], *trash_out[SW_SHADOW_TRASH_MAX];
    size_t n_trash, n_trash_out;
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
/* Hand the primaries and the values to release since the last flush to the worker: one lock, at
   most one wake-up (the loop calls it once per turn). */
void sw_shadow_flush(sw_shadow *s);
/* Hands j (a value the worker made, such as a pair's record; NULL is ignored) back to the worker
   to release, at the next flush. A free into another thread's malloc arena takes that arena's
   lock, and the worker allocates all the time: the loop would wait on it. */
void sw_shadow_dispose(sw_shadow *s, json_t *j);
/* Every finished job, oldest first (a list through ->next). */
sw_shadow_job *sw_shadow_take_done(sw_shadow *s);
/* Abandon queued, running and waiting jobs and stop the worker. */
void sw_shadow_stop(sw_shadow *s);
void sw_shadow_job_free(sw_shadow_job *job);
void sw_pair_side_free(sw_pair_side *side);

#endif
