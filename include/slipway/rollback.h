/*
 * slipway/rollback.h - rolling an agent back: the router's route to stable
 * with a session policy, and the release store's candidate cleared. One
 * implementation shared by the `rollback` stage and `slipway rollback`.
 *
 * Idempotent: each half reads the current state first and does nothing when
 * it is already rolled back, so running it twice, or again after a crash
 * inside it, is safe. The router goes first: stopping candidate traffic is
 * what matters most in an incident.
 *
 * The router is reached through a caller-supplied function (the stage uses
 * the host's HTTP client, the command sw_router_admin_call), so this code
 * needs no HTTP library of its own.
 *
 * Ownership: *result is malloc'd JSON (free with sw_free); inputs are borrowed.
 */
#ifndef SLIPWAY_ROLLBACK_H
#define SLIPWAY_ROLLBACK_H

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One admin API call ("GET", "/admin/agents/a/route", NULL). Returns 0 when an
   HTTP answer came (*status, *response malloc'd or NULL), -1 with a message in
   errbuf otherwise. */
typedef int (*sw_admin_call_fn)(void *userdata, const char *method, const char *path,
                                const char *body, int *status, char **response, char *errbuf,
                                size_t errsize);

typedef struct sw_rollback_request {
    const char *agent;
    /* The release stable must hold afterwards (a reference the store resolves);
       NULL: stable as it is, unless stable is `bad` itself (a promotion being
       undone): then the release stable held before it. */
    const char *to;
    /* The release being rolled back; NULL: the one info.run_id last made candidate,
       else the store's candidate. A candidate that is another release, set since (in
       the store, or on a gateway route), is another rollout's and is left alone. */
    const char *bad;
    /* drain, migrate or terminate; NULL: the route's own policy. */
    const char *sessions;
    /* The router version to route to; NULL: the router's stable, or `to`'s
       release id in gateway mode when stable moved. */
    const char *router_to;
    sw_change_info info;
    sw_store *store;       /* NULL: leave the store alone */
    sw_admin_call_fn call; /* NULL: leave the router alone */
    void *call_userdata;
} sw_rollback_request;

/*
 * Do it. 0 with *result:
 *   {"agent", "router": {"done": bool, "already": bool, "from": {stable, candidate, weight},
 *                        "to", "sessions", "pins_affected", "route_version"} or null,
 *    "store": {"from", "to", "candidate_cleared": id or null, "already": bool} or null}
 * with "left_candidate": id in either half when another rollout's candidate was left.
 * -1 with a message in errbuf (the half already done is not undone).
 */
SW_API int sw_rollback_execute(const sw_rollback_request *req, char **result, char *errbuf,
                               size_t errsize);

#ifdef __cplusplus
}
#endif

#endif
