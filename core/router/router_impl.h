/*
 * router_impl.h - what the router's modules share (router.c, server.c,
 * proxy.c, admin.c, events.c); not part of the public API (slipway/router.h).
 *
 * Threads: everything here belongs to the event loop thread (the one running
 * sw_router_run), except `stop` (any thread) and the state writer, shadow
 * worker and shared route listener and pin reader (shared.c), which have their own locks. A route
 * in `routes` is immutable; a change publishes a new one (one pointer store in the loop thread) and
 * requests keep a reference to the route they started with.
 */
#ifndef SW_ROUTER_ROUTER_IMPL_H
#define SW_ROUTER_ROUTER_IMPL_H

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdint.h>

#include "base/util.h"
#include "config.h"
#include "hmap.h"
#include "metrics.h"
#include "pins.h"
#include "proto/proto.h"
#include "respids.h"
#include "route.h"
#include "session.h"
#include "shadow.h"
#include "shared.h"
#include "slipway/router.h"
#include "slipway/store.h"
#include "sse.h"
#include "state.h"
#include "upstream.h"

typedef struct rreq rreq;

/* A request waiting for reads of the shared pins (pinreads.c), kept in the request. */
typedef struct sw_pin_waiter {
    int pending; /* reads not answered yet */
    int asked;   /* its reads are over: the request, handled again, asks no more */
    /* Every read answered or given up (loop thread); the pins found are in r->pins. */
    void (*done)(struct sw_pin_waiter *w);
} sw_pin_waiter;

/* The reads of the shared pins in progress (pinreads.c): one per session, in the order
   they were asked (which is the order of their deadlines). */
typedef struct sw_pin_reads {
    sw_hmap by_key; /* agent \x1f session -> struct pin_read* */
    struct pin_read *head, *tail;
    uint64_t next_id;
    double timeout_ms;
    int late_logged; /* a read given up was logged; again only after one answers */
    uint64_t found, absent, late, failed; /* reads by outcome, for /metrics */
} sw_pin_reads;

/* The newest recorded shadow pairs (JSON records), a fixed-capacity ring: slot[head] is the
   oldest of count. */
typedef struct sw_pair_ring {
    json_t **slot;
    size_t cap, head, count;
} sw_pair_ring;

struct sw_router {
    sw_router_config *cfg;
    sw_router_log_fn log;
    void *log_ud;
    char *token; /* NULL: no admin token configured */
    sw_store *store;
    sw_shared *shared;  /* the route table shared with other replicas (postgres store), or NULL */
    int shared_up_seen; /* the database's state as last logged */
    sw_hmap routes;     /* agent -> sw_route* (the current one; one reference held here) */
    sw_pins pins;
    sw_pin_reads reads; /* shared pins being read for sessions with no pin here */
    sw_respids respids; /* Responses API answers served, for previous_response_id */
    sw_metrics metrics;
    sw_state_writer writer;
    double pins_full_logged; /* when the full pin table was last reported */
    /* serving */
    struct MHD_Daemon *mhd;
    CURLM *multi;
    sw_up *up; /* plain http:// upstreams (upstream.h); libcurl has the rest */
    int epfd;
    int wakefd; /* sw_router_stop and the shadow worker write here */
    int port;
    volatile sig_atomic_t stop;
    double curl_deadline; /* monotonic ms; < 0: no curl timer */
    rreq *live;           /* every request in progress (for shutdown) */
    int resumed;          /* a connection was resumed since the last MHD_run */
    int stopping;         /* sw_server_stop has begun: no connection is suspended anew */
    size_t n_suspended;   /* connections suspended now */
    CURL **easy_pool;     /* idle easy handles, reset, for the next upstream calls */
    size_t n_easy_pool;
    rreq *retries; /* requests waiting to try their upstream again */
    uint64_t inflight;
    double next_sweep, next_flush;
    uint64_t rejected[600]; /* requests answered by the router itself, by status */
    /* shadow */
    sw_shadow shadow;
    sw_hmap pairs; /* pair id (decimal) -> sw_shadow_job* still waiting for its primary */
    uint64_t next_pair;
    sw_pair_ring ring; /* the recorded pairs (capacity shadow.keep) */
    int pairs_fd;      /* the pairs file (-1: none) */
};

/* ---- router.c ---- */
void sw_router_logf(sw_router *r, sw_log_level level, const char *fmt, ...) SW_PRINTF(3, 4);
/* The agent's configuration (NULL for an agent known only from the state file). */
const sw_agent_cfg *sw_router_agent_cfg(const sw_router *r, const char *agent);
const sw_session_cfg *sw_router_session_cfg(const sw_router *r, const char *agent);
sw_mode sw_router_agent_mode(const sw_router *r, const char *agent);
/* Build a route for agent from JSON (gateway versions resolved through the store). */
sw_route *sw_router_build_route(sw_router *r, const char *agent, sw_mode mode, const json_t *j,
                                sw_err *err);
/* Apply the route rows other replicas wrote (shared.h) and log the database going down or
   coming back. Loop thread; does nothing without a shared table. */
void sw_router_shared_apply(sw_router *r);
/* Queue a pin to be written behind to the shared pins (nothing without them). */
void sw_router_share_pin(sw_router *r, const sw_pin *pin);
/* Publish a route (takes the reference). */
void sw_router_publish(sw_router *r, sw_route *route);
/* Save now and wait for the disk (admin changes). */
int sw_router_save_sync(sw_router *r, sw_err *err);
/* Expire idle pins and save the state when it changed (called by the loop). */
void sw_router_tick(sw_router *r, double now);
/* Apply a session policy to the pins of versions that new sessions can no longer
   get (active in old, not in new). Returns the number of pins affected. */
size_t sw_router_retire(sw_router *r, const sw_route *old, sw_route *new_route, sw_policy policy);

/* ---- pinreads.c ---- */
void sw_pin_reads_init(sw_router *r);
/* A session this replica has no pin for: 1 when it is being read from the shared pins, for
   w (w->pending counted; w->done called once every read of w is answered or given up, the
   pins found set here with the route's later session policies applied); 0 when no read is
   made (no shared pins, the database away, too many reads waiting, w->asked set). patient:
   a session known to have made a request (an event's) is read again while the database has
   no pin for it, until the read's timeout (another replica may not have written it yet). */
int sw_pin_read_ask(sw_router *r, const char *agent, const char *session, int patient,
                    sw_pin_waiter *w);
/* Take the pin reader's answers (on the loop's wake-up). */
void sw_pin_reads_collect(sw_router *r);
/* Give up the reads whose deadline passed (their sessions are not found); returns the ms
   until the next deadline, or -1 when no read waits. */
double sw_pin_reads_expire(sw_router *r, double now);
/* The reads' counts for /metrics. */
void sw_pin_reads_prometheus(const sw_router *r, sw_buf *b);
/* Give up every read (stopping); each waiter's done is called. */
void sw_pin_reads_free(sw_router *r);

/* ---- server.c ---- */
int sw_server_start(sw_router *r, sw_diags *d);
int sw_server_loop(sw_router *r);
void sw_server_stop(sw_router *r);

/* ---- admin.c ---- */
typedef const char *(*sw_arg_fn)(void *ud, const char *name);
/* Handle an admin call (the token already checked). Returns the HTTP status
   and sets *out to the JSON body (new reference). */
int sw_admin_handle(sw_router *r, const char *method, const char *path, sw_arg_fn arg, void *ud,
                    const char *body, size_t len, json_t **out);
/* Constant-time comparison of an Authorization header with the token. */
int sw_admin_authorized(const sw_router *r, const char *authorization);

/* ---- events.c ---- */
/* POST /v1/events. agent_from_path may be NULL; session_hint is the request's
   session key from headers or cookie (may be NULL). Returns 0 instead of a status while it
   waits for reads of the shared pins (w->done is called then: handle the request again). */
int sw_events_handle(sw_router *r, const char *agent_from_path, const char *session_hint,
                     const char *body, size_t len, sw_pin_waiter *w, json_t **out);

/* ---- shadow pairs (pairs.c) ---- */
/* Submit a shadow copy as a new pair (the job's url, auth and body set). Returns the pair id,
   or 0 when the queue is full (counted as dropped; the job is freed). */
uint64_t sw_pair_submit(sw_router *r, sw_shadow_job *job, const char *agent, const char *session,
                        const char *primary_version, const char *shadow_version);
/* The primary's side: takes c's text and tool calls (c stays valid, without them) and, for a
   whole (non-streamed) answer, raw: its body, which the shadow worker reads the text and tool
   calls from (raw is emptied; may be NULL). The comparison happens on the shadow worker. */
void sw_pair_primary(sw_router *r, uint64_t id, int status, double latency_ms, sw_completion *c,
                     sw_buf *raw, const char *error);
/* Hand this turn's primaries to the shadow worker (once per loop turn). */
void sw_pairs_flush(sw_router *r);
/* Take every finished pair from the shadow worker: count it and keep its record. */
void sw_pairs_collect(sw_router *r);
void sw_pairs_free(sw_router *r);
/* The newest pairs of an agent (NULL: all) since since_ms, at most limit (0: no limit). */
json_t *sw_pairs_list(sw_router *r, const char *agent, int64_t since_ms, size_t limit);

void sw_pair_ring_init(sw_pair_ring *g, size_t cap);
/* Takes rec; when full, the oldest record gives its slot and is returned (the caller's to
   release; NULL otherwise). */
json_t *sw_pair_ring_push(sw_pair_ring *g, json_t *rec);
/* Newest first, stopping at the first record older than since_ms ("t_ms"). */
json_t *sw_pair_ring_list(const sw_pair_ring *g, const char *agent, int64_t since_ms, size_t limit);
void sw_pair_ring_free(sw_pair_ring *g);

/* How long a session of agent stays pinned when idle (ms). */
int64_t sw_router_ttl_ms(sw_router *r, const char *agent);

/* An OpenAI-style error body: {"error": {"message", "type", "param", "code"}}. */
json_t *sw_error_json(const char *type, const char *code, const char *fmt, ...) SW_PRINTF(3, 4);

#endif
