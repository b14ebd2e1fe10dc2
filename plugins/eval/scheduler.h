/*
 * scheduler.h - the request scheduler: every HTTP request of an eval, on one
 * thread, through libcurl's multi interface (no thread per request).
 *
 * Attempts count what the server may have seen: libcurl's own immediate
 * resend of a request whose reused connection closed before any answer
 * counts as an attempt (and a silent retry) too.
 *
 * Requests go to one of two pools, the target's and the judge's, each with
 * its own concurrency cap and rate limits (requests per second, tokens per
 * minute, as token buckets), so a slow judge never starves the target and
 * the other way round. A failed attempt (connection refused or dropped, a
 * timeout, HTTP 408, 429, 500, 502, 503, 504) is retried after a jittered
 * exponential back-off: base * 2^(n-1), capped, drawn uniformly in its upper
 * half; a Retry-After header (seconds or an HTTP date) sets the least wait,
 * and on a 429 pauses the whole pool for that long. Retries are capped per
 * request and over the run (the retry budget; 0 means never retry).
 *
 * With a cache (cache.h) in replay mode nothing goes out: answers come from
 * the cache with their recorded latency; in record mode 2xx answers are
 * stored as they arrive.
 *
 * Completion callbacks run inside ev_sched_run_once, never inside
 * ev_sched_submit, and may submit more requests.
 *
 * Ownership: the scheduler copies what a request spec points to, except
 * `body`, which it takes. Responses handed to callbacks are valid during
 * the call only.
 */
#ifndef EV_SCHEDULER_H
#define EV_SCHEDULER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "cache.h"

enum { EV_POOL_TARGET = 0, EV_POOL_JUDGE = 1, EV_POOLS = 2 };

typedef struct ev_response {
    long status;      /* 0 when no HTTP response arrived */
    const char *body; /* NUL-terminated; "" when none */
    size_t len;
    double latency_ms; /* of the answering attempt; the recorded one when replayed */
    int attempts;      /* HTTP attempts made (0 when replayed or refused) */
    int replayed;
    int budget_out;    /* a retryable failure was not retried: the retry budget ran out */
    const char *error; /* NULL, or why there is no usable answer */
} ev_response;

typedef void (*ev_done_fn)(void *ud, const ev_response *r);

typedef struct ev_pool_opts {
    int concurrency; /* requests in flight at most; at least 1 */
    double rps;      /* requests per second; 0: no limit */
    double tpm;      /* tokens per minute (estimated before, corrected after); 0: no limit */
} ev_pool_opts;

typedef struct ev_sched_opts {
    ev_pool_opts pools[EV_POOLS];
    int max_retries;      /* per request */
    int64_t retry_budget; /* retries over the run; -1: no cap */
    int64_t timeout_ms;   /* per attempt */
    int64_t backoff_ms;   /* first back-off */
    int64_t max_backoff_ms;
    uint64_t seed;                                         /* for the jitter */
    ev_cache *cache;                                       /* may be NULL */
    void (*log)(void *ud, int level, const char *message); /* may be NULL; level: sw_log_level */
    void *log_ud;
} ev_sched_opts;

typedef struct ev_req_spec {
    int pool;
    const char *url;
    const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
    char *body;                 /* taken; JSON text */
    size_t body_len;
    const char *cache_key; /* hex key; NULL: not cached */
    int64_t est_tokens;    /* for the tokens-per-minute limit */
    ev_done_fn done;
    void *ud;
} ev_req_spec;

typedef struct ev_pool_stats {
    uint64_t requests;       /* submitted */
    uint64_t attempts;       /* HTTP attempts sent */
    uint64_t retries;        /* made by the scheduler, after a back-off */
    uint64_t silent_retries; /* made by libcurl at once: a reused connection closed before
                                any answer (also in attempts and transport) */
    uint64_t ok;             /* 2xx answers delivered */
    uint64_t failed;         /* delivered with an error or a non-2xx status */
    uint64_t timeouts;       /* attempts that timed out */
    uint64_t transport;      /* attempts that failed below HTTP (refused, dropped, ...) */
    uint64_t status_429, status_5xx;
    uint64_t cache_hits, cache_misses, cache_stored;
    double wait_ms; /* time spent in back-off and Retry-After */
} ev_pool_stats;

typedef struct ev_sched ev_sched;

ev_sched *ev_sched_new(const ev_sched_opts *opts, sw_err *err);
void ev_sched_free(ev_sched *s); /* aborts what is left, without callbacks */
void ev_sched_submit(ev_sched *s, const ev_req_spec *spec);
/* Start what may start, wait up to timeout_ms for progress, deliver what
   finished. Returns the number of requests not yet delivered. */
size_t ev_sched_run_once(ev_sched *s, int timeout_ms);
size_t ev_sched_waiting(const ev_sched *s, int pool); /* submitted, not yet sent */
size_t ev_sched_pending(const ev_sched *s);           /* not yet delivered, all pools */
/* From now on, requests not yet sent (and new ones) are delivered with
   error `why`; those in flight finish. */
void ev_sched_refuse(ev_sched *s, const char *why);
/* ev_sched_refuse, and transfers in flight are aborted with `why`. */
void ev_sched_abort(ev_sched *s, const char *why);
/* Correct a tokens-per-minute estimate once the real usage is known. */
void ev_sched_tokens_used(ev_sched *s, int pool, int64_t estimated, int64_t actual);
const ev_pool_stats *ev_sched_stats(const ev_sched *s, int pool);
int64_t ev_sched_retry_budget_left(const ev_sched *s); /* -1: no cap */

#endif
