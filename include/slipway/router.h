/*
 * slipway/router.h - `slipway serve`: the router that puts agent versions in
 * front of applications (canary splits, targeting rules, shadow traffic,
 * session pins, per-version metrics), and a client for its admin API.
 *
 * An application points its OpenAI-compatible client at the router and names
 * the agent as the model (or uses the path /agents/<name>/v1/...). The router
 * picks a version per session, forwards the request to that version (a
 * service URL, or a model provider with the release applied: gateway mode),
 * and passes the answer back, streamed or not. docs/router.md describes the
 * configuration file, the HTTP API and the state file.
 *
 * Objects
 *   sw_router   one router: its configuration, routes, pins, metrics, and
 *               (once started) its listening socket and event loop
 *
 * Ownership
 *   sw_router_load's result is freed with sw_router_free, which must not be
 *   called while sw_router_run runs. Functions returning char * return
 *   malloc'd text the caller frees with sw_free. Strings passed in are
 *   borrowed for the call.
 *
 * Errors
 *   Functions taking an sw_diags * add every problem found to it (with
 *   file:line:col for the configuration) and return -1 or NULL on error.
 *
 * Threading
 *   sw_router_run runs the router's event loop on the calling thread (plus a
 *   state writer and a shadow worker thread of its own); sw_router_stop may
 *   be called from any thread or a signal handler. Other functions are for
 *   the thread that owns the router, outside sw_router_run.
 */
#ifndef SLIPWAY_ROUTER_H
#define SLIPWAY_ROUTER_H

#include <stddef.h>

#include "slipway.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_router sw_router;

/* Where the router's log lines go (errors, warnings, access lines when enabled).
   message is borrowed for the call. Called from the router's threads. */
typedef void (*sw_router_log_fn)(void *userdata, sw_log_level level, const char *message);

typedef struct sw_router_options {
    const char *listen;     /* "HOST:PORT" overriding the file's `listen`, or NULL */
    const char *state_file; /* overriding the file's `state_file`, or NULL */
    sw_router_log_fn log;   /* NULL: no log */
    void *log_userdata;
    const char *store; /* the release store (a folder or a postgres:// URL) overriding the
                          file's `store` (else $SLIPWAY_STORE), or NULL */
} sw_router_options;

/* Read and check router.yaml and the state file (routes and pins saved by an
   earlier run). Nothing listens yet. opts may be NULL. */
SW_API sw_router *sw_router_load(const char *config_path, const sw_router_options *opts,
                                 sw_diags *diags);
/* Bind the listening socket (refused on a non-loopback address without an
   admin token file). After this, sw_router_port gives the port. */
SW_API int sw_router_start(sw_router *router, sw_diags *diags);
SW_API int sw_router_port(const sw_router *router);
/* Serve until sw_router_stop; then save the state. Returns 0, or -1 after a
   fatal error (reported through the log). */
SW_API int sw_router_run(sw_router *router);
/* Ask sw_router_run to return. Async-signal-safe. */
SW_API void sw_router_stop(sw_router *router);
SW_API void sw_router_free(sw_router *router);

/* ---- the admin API's client ---- */

/* One call to a router's admin API: method ("GET", "PUT", "POST"), path
   ("/admin/agents/support-agent/route"), optional JSON body. base_url is the
   router's ("http://127.0.0.1:8700"); token may be NULL. *status receives the
   HTTP status and *response the body (malloc'd; may be NULL). Returns 0 when
   an HTTP answer came back (whatever its status), -1 with a diagnostic when
   none did (connection refused, timeout). */
SW_API int sw_router_admin_call(const char *base_url, const char *token, const char *method,
                                const char *path, const char *body, long timeout_ms, int *status,
                                char **response, sw_diags *diags);

/* ---- the shared route table, without a router ---- */

/* The calls of the admin API that concern routes, answered from a database store's shared
   route table (store: a postgres:// URL; the replicas' table, slipway.routes): GET
   /admin/agents, GET and PUT /admin/agents/AGENT/route, POST /admin/agents/AGENT/rollback,
   with the admin API's bodies and errors. A change is built and checked as a replica's
   admin API does and written with its transaction (compare-and-swap on the route version,
   then NOTIFY), so every running replica applies it, session policy included, and a replica
   started later loads it. Unlike a replica's answers, the routes carry no pin counts (pins
   are each replica's) and a change no "pins_affected". Limits: the agent must have a route
   in the table already, and a gateway agent's change may name only the releases its stored
   route has (a router resolves new ones). *status and *response as for sw_router_admin_call;
   -1 with a diagnostic when store is not a database URL or the database cannot be reached
   (nothing written). */
SW_API int sw_router_routes_store_call(const char *store, const char *method, const char *path,
                                       const char *body, int *status, char **response,
                                       sw_diags *diags);

#ifdef __cplusplus
}
#endif

#endif /* SLIPWAY_ROUTER_H */
