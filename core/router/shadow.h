/*
 * shadow.h - copies of requests sent to a shadow version, off the primary path.
 *
 * A worker thread with its own libcurl multi handle (so its own connections
 * and timeouts) takes jobs from a bounded queue; a job that does not fit is
 * refused at once (the router counts it as dropped), so the primary request
 * never waits for anything shadow. Finished jobs are handed back through a
 * list and an eventfd the router's event loop watches; the router pairs each
 * with its primary response.
 *
 * Ownership: sw_shadow_submit takes the job when it returns 0; jobs from
 * sw_shadow_take_done belong to the caller (sw_shadow_job_free).
 */
#ifndef SW_ROUTER_SHADOW_H
#define SW_ROUTER_SHADOW_H

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct sw_shadow_job {
    struct sw_shadow_job *next;
    uint64_t pair_id;
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
} sw_shadow_job;

#define SW_SHADOW_IDLE_MAX 64

typedef struct sw_shadow {
    pthread_t thread;
    pthread_mutex_t mu;
    CURLM *multi;
    sw_shadow_job *queue, *queue_tail, *done, *done_tail;
    sw_shadow_job *running;         /* the worker thread's only */
    CURL *idle[SW_SHADOW_IDLE_MAX]; /* the worker's idle easy handles, reused */
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
/* Every finished job, oldest first (a list through ->next). */
sw_shadow_job *sw_shadow_take_done(sw_shadow *s);
/* Abandon queued and running jobs and stop the worker. */
void sw_shadow_stop(sw_shadow *s);
void sw_shadow_job_free(sw_shadow_job *job);

#endif
