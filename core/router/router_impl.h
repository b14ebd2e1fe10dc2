/*
 * router_impl.h - what the router's modules share (router.c, server.c,
 * proxy.c, admin.c, events.c); not part of the public API (slipway/router.h).
 *
 * Threads: everything here belongs to the event loop thread (the one running
 * sw_router_run), except `stop` (any thread) and the state writer and shadow
 * worker, which have their own locks. A route in `routes` is immutable; a
 * change publishes a new one (one pointer store in the loop thread) and
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
#include "completion.h"
#include "config.h"
#include "hmap.h"
#include "metrics.h"
#include "pins.h"
#include "route.h"
#include "session.h"
#include "shadow.h"
#include "slipway/router.h"
#include "slipway/store.h"
#include "sse.h"
#include "state.h"
#include "upstream.h"

typedef struct rreq rreq;

/* A pending shadow pair: the primary's side waits here for the shadow's, or
   the other way round. */
typedef struct sw_pair {
    uint64_t id;
    char *agent, *session, *primary_version, *shadow_version;
    int64_t t_ms;
    int have_primary, have_shadow;
    json_t *primary, *shadow; /* {"version", "status", "latency_ms", "tokens_in", ...} */
    char *primary_text, *shadow_text;
    json_t *primary_tools, *shadow_tools;
    int shadow_failed;
} sw_pair;

struct sw_router {
    sw_router_config *cfg;
    sw_router_log_fn log;
    void *log_ud;
    char *token; /* NULL: no admin token configured */
    sw_store *store;
    sw_hmap routes; /* agent -> sw_route* (the current one; one reference held here) */
    sw_pins pins;
    sw_metrics metrics;
    sw_state_writer writer;
    uint64_t saved_pins_dirty;
    int pins_touched;        /* a pin was used since the last save (its last_ms changed) */
    double last_save;        /* monotonic ms */
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
    CURL **easy_pool;     /* idle easy handles, reset, for the next upstream calls */
    size_t n_easy_pool;
    rreq *retries; /* requests waiting to try their upstream again */
    uint64_t inflight;
    double next_sweep, next_flush;
    uint64_t rejected[600]; /* requests answered by the router itself, by status */
    /* shadow */
    sw_shadow shadow;
    sw_hmap pairs; /* pair id (decimal) -> sw_pair* */
    uint64_t next_pair;
    json_t *pair_ring; /* the newest recorded pairs, oldest first */
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
/* Publish a route (takes the reference). */
void sw_router_publish(sw_router *r, sw_route *route);
/* The state file's content now (malloc'd). */
char *sw_router_snapshot(sw_router *r);
/* Save now and wait for the disk (admin changes). */
int sw_router_save_sync(sw_router *r, sw_err *err);
/* Expire idle pins and save the state when it changed (called by the loop). */
void sw_router_tick(sw_router *r, double now);
/* Apply a session policy to the pins of versions that new sessions can no longer
   get (active in old, not in new). Returns the number of pins affected. */
size_t sw_router_retire(sw_router *r, const sw_route *old, sw_route *new_route, sw_policy policy);

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
   session key from headers or cookie (may be NULL). */
int sw_events_handle(sw_router *r, const char *agent_from_path, const char *session_hint,
                     const char *body, size_t len, json_t **out);

/* ---- shadow pairs (pairs.c) ---- */
sw_pair *sw_pair_new(sw_router *r, const char *agent, const char *session,
                     const char *primary_version, const char *shadow_version);
/* The primary's side (text, tools and tokens from its completion). */
void sw_pair_primary(sw_router *r, uint64_t id, int status, double latency_ms,
                     const sw_completion *c, const char *error);
/* Take every finished shadow job and complete its pair. */
void sw_pairs_collect(sw_router *r);
void sw_pairs_free(sw_router *r);
/* The newest pairs of an agent (NULL: all) since since_ms, at most limit. */
json_t *sw_pairs_list(sw_router *r, const char *agent, int64_t since_ms, size_t limit);

/* An OpenAI-style error body: {"error": {"message", "type", "param", "code"}}. */
json_t *sw_error_json(const char *type, const char *code, const char *fmt, ...) SW_PRINTF(3, 4);

#endif
