/* store_routes.c - the routers' shared route table read and changed without a router
   (`slipway routes|route --store postgres://...`), answering as a replica's admin API does
   (slipway/router.h: sw_router_routes_store_call). A change is built and checked as the
   admin API builds it (route_change.c) and written with the replicas' own transaction
   (store/pg_routes.c), so every replica applies it from the notification.

   What a replica adds to a route and this process cannot: a gateway version's release is
   resolved from the release store and its provider from router.yaml. So a change here
   may name only versions the stored route has (any agent), or new service versions with
   their URL; an agent gets its first route from a router. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route_change.h"
#include "router_impl.h"
#include "slipway/router.h"
#include "store/pg_impl.h"

/* The stored route's versions (a JSON object): all this process accepts in gateway mode. */
static int keep_known(void *ud, const char *agent, sw_rversion *v, sw_err *err)
{
    (void)agent;
    if (json_object_get(ud, v->name))
        return 0; /* resolved by the replica that added it; kept as stored */
    return sw_err_set(err,
                      "'%s' is not a release the stored route has: a new release of a gateway "
                      "agent is resolved by a router (its release store and providers), so add "
                      "it through a router (--router)",
                      v->release);
}

typedef struct stored {
    json_t *versions; /* the stored route's, for keep_known */
} stored;

static sw_route *build(void *ud, const char *agent, sw_mode mode, const json_t *j, sw_err *err)
{
    stored *st = ud;
    sw_route_ctx ctx = {mode, keep_known, st->versions};
    return sw_route_from_json(agent, j, &ctx, err);
}

/* The agent's row as its JSON form (version from the row), or NULL (*status 404 or 500
   with *out; 503 when the database failed). */
static json_t *read_route(PGconn *c, const char *agent, int *status, json_t **out)
{
    sw_pg_route_row *rows = NULL;
    size_t n = 0, cap = 0;
    sw_err err = {{0}};
    json_t *j = NULL;
    if (sw_pg_routes_read(c, agent, &rows, &n, &cap, &err) < 0) {
        *status = sw_route_fail(out, 503, "state_backend_unavailable",
                                "reading the route of '%s': %s", agent, err.msg);
    } else if (n == 0) {
        *status = sw_route_fail(out, 404, "agent_not_found",
                                "agent '%s' has no route in the database: an agent gets its first "
                                "route from a router (router.yaml, or through its admin API with "
                                "--router)",
                                agent);
    } else {
        json_error_t je;
        j = json_loads(rows[0].route, 0, &je);
        if (!json_is_object(j)) {
            json_decref(j);
            j = NULL;
            *status =
                sw_route_fail(out, 500, "stored_route_invalid",
                              "the stored route of '%s' is not a JSON object: %s", agent, je.text);
        } else {
            json_object_set_new(j, "version", json_integer(rows[0].version));
        }
    }
    sw_pg_route_rows_free(rows, n);
    return j;
}

static int list_routes(PGconn *c, json_t **out)
{
    sw_pg_route_row *rows = NULL;
    size_t n = 0, cap = 0;
    sw_err err = {{0}};
    if (sw_pg_routes_read(c, NULL, &rows, &n, &cap, &err) < 0)
        return sw_route_fail(out, 503, "state_backend_unavailable", "reading the routes: %s",
                             err.msg);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loads(rows[i].route, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            j = json_pack("{s:s, s:s}", "agent", rows[i].agent, "error",
                          "the stored route is not a JSON object");
        }
        json_object_set_new(j, "version", json_integer(rows[i].version));
        json_array_append_new(list, j);
    }
    sw_pg_route_rows_free(rows, n);
    *out = json_pack("{s:o}", "agents", list);
    return 200;
}

/* Build the stored route, make the change (set: body is the patch; else a rollback), write
   it with compare-and-swap. */
static int change(PGconn *c, const char *agent, int is_set, const char *body, json_t **out)
{
    json_t *req = body && *body ? json_loads(body, 0, NULL) : json_object();
    if (!json_is_object(req)) {
        json_decref(req);
        return sw_route_fail(out, 400, "invalid_json", "the body must be a JSON object");
    }
    int status = 0;
    json_t *row = read_route(c, agent, &status, out);
    if (!row) {
        json_decref(req);
        return status;
    }
    stored st = {json_object_get(row, "versions")};
    sw_route_builder b = {build, &st};
    sw_mode mode = sw_route_json_mode(row);
    sw_err err = {{0}};
    sw_route *cur = build(&st, agent, mode, row, &err);
    sw_route *next = NULL;
    sw_policy policy = SW_POLICY_DRAIN;
    if (!cur)
        status = sw_route_fail(out, 500, "stored_route_invalid",
                               "the stored route of '%s' cannot be built: %s", agent, err.msg);
    else if (is_set)
        status = sw_route_change_set(cur, agent, mode, req, &b, &next, out);
    else
        status = sw_route_change_rollback(cur, agent, req, &b, &next, &policy, out);
    if (next && is_set)
        policy = next->on_change;
    json_decref(req);
    if (!next)
        goto done;
    json_t *j = sw_route_to_json(next);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t now_stored = 0;
    int wait = is_set; /* as through a replica: a rollback never waits for the replicas */
    int rc = sw_pg_route_cas(c, agent, cur->version, text, sw_policy_name(policy), wait,
                             &now_stored, &err);
    free(text);
    if (rc == 1) {
        status = sw_route_db_conflict(out, agent, now_stored, cur->version);
        json_decref(j);
    } else if (rc == 2) {
        status = sw_route_fail(out, 503, "replicas_catching_up",
                               "the route change of '%s' is refused for now: %s; try again", agent,
                               err.msg);
        json_decref(j);
    } else if (rc < 0) {
        status = sw_route_fail(out, 503, "state_backend_unavailable",
                               "the route change of '%s' is not acknowledged: the state database "
                               "failed: %s; read the route again before retrying",
                               agent, err.msg);
        json_decref(j);
    } else if (is_set) {
        *out = j;
        status = 200;
    } else {
        *out = sw_route_rollback_answer(cur, next, policy);
        json_object_set_new(*out, "route", j);
        status = 200;
    }
done:
    sw_route_unref(next);
    if (cur)
        sw_route_unref(cur);
    json_decref(row);
    return status;
}

static int handle(PGconn *c, const char *method, const char *path, const char *body, json_t **out)
{
    int get = strcmp(method, "GET") == 0;
    if (strcmp(path, "/admin/agents") == 0)
        return get ? list_routes(c, out)
                   : sw_route_fail(out, 405, "method_not_allowed", "use GET on /admin/agents");
    const char *rest = NULL;
    char *agent = sw_route_admin_agent(path, &rest);
    int st;
    if (agent && strcmp(rest, "/route") == 0 && get) {
        json_t *j = read_route(c, agent, &st, out);
        if (j) {
            *out = j;
            st = 200;
        }
    } else if (agent && strcmp(rest, "/route") == 0 && strcmp(method, "PUT") == 0) {
        st = change(c, agent, 1, body, out);
    } else if (agent && strcmp(rest, "/rollback") == 0 && strcmp(method, "POST") == 0) {
        st = change(c, agent, 0, body, out);
    } else {
        st = sw_route_fail(out, 404, "not_found",
                           "%s %s is not answered from the database store: it holds the routes "
                           "(GET /admin/agents, GET and PUT .../route, POST .../rollback); the "
                           "rest is each router's (--router)",
                           method, path);
    }
    free(agent);
    return st;
}

int sw_router_routes_store_call(const char *store, const char *method, const char *path,
                                const char *body, int *status, char **response, sw_diags *diags)
{
    *status = 0;
    *response = NULL;
    if (!sw_store_location_is_url(store)) {
        sw_diag_error(diags, (sw_pos){0}, "%s is a folder store: it holds no router's routes",
                      store);
        return -1;
    }
    sw_store_error se = {0};
    sw_store *s = sw_store_open(store, &se);
    if (!s) {
        sw_diag_error(diags, (sw_pos){0}, "%s", se.message);
        return -1;
    }
    json_t *out = NULL;
    *status = handle(sw_pg_conn(s), method, path, body, &out);
    sw_store_close(s);
    *response = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return 0;
}
