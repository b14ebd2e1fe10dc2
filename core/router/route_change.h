/*
 * route_change.h - a route change as the admin API takes it (PUT .../route: the fields to
 * change; POST .../rollback), turned into the next route and checked, without a router. The
 * router's admin API (admin.c) and `slipway route --store` (store_routes.c) both build their
 * changes here, so they accept the same input and refuse bad input with the same errors.
 *
 * Each function returns 0 with *next (the route at cur's version + 1, its updated_at now),
 * or an HTTP status (400, 404, 409, 428) with *out set to the error's JSON body.
 */
#ifndef SW_ROUTER_ROUTE_CHANGE_H
#define SW_ROUTER_ROUTE_CHANGE_H

#include <jansson.h>

#include "route.h"

/* Builds a route from its JSON form the way its caller must (the router resolves gateway
   releases; the CLI accepts only the versions the stored route knows). NULL with err. */
typedef sw_route *(*sw_route_build_fn)(void *ud, const char *agent, sw_mode mode, const json_t *j,
                                       sw_err *err);

typedef struct sw_route_builder {
    sw_route_build_fn build;
    void *ud;
} sw_route_builder;

/* The agent of an admin path /admin/agents/AGENT/REST (malloc'd), with *rest at "/REST";
   NULL when path is not one. */
char *sw_route_admin_agent(const char *path, const char **rest);

/* An error body and its status: {"error": {"type": "invalid_request_error", code, message}}. */
int sw_route_fail(json_t **out, int status, const char *code, const char *fmt, ...) SW_PRINTF(4, 5);
/* 409 route_version_conflict for a stored version that is not the one the change was based
   on (mine), with "current_version". */
int sw_route_db_conflict(json_t **out, const char *agent, int64_t stored, int64_t mine);

/* PUT .../route: patch (a JSON object, changed) holds "version" (required: the version it is
   based on) and the fields to change, merged into cur (NULL: the agent has none, and mode
   is the mode it gets). */
int sw_route_change_set(const sw_route *cur, const char *agent, sw_mode mode, json_t *patch,
                        const sw_route_builder *b, sw_route **next, json_t **out);
/* POST .../rollback: req ({"sessions", "to", "version"}, all optional) on cur (NULL: 404).
 *policy gets the session policy for the versions that leave. */
int sw_route_change_rollback(const sw_route *cur, const char *agent, const json_t *req,
                             const sw_route_builder *b, sw_route **next, sw_policy *policy,
                             json_t **out);
/* The answer to a rollback: {"agent", "from": {stable, candidate, weight}, "to", "sessions"}. */
json_t *sw_route_rollback_answer(const sw_route *cur, const sw_route *next, sw_policy policy);

#endif
