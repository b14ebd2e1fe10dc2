/* admin.c - the admin API: routes with compare-and-swap, rollback, pins, stats, shadow pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "route_change.h"
#include "router_impl.h"

int sw_admin_authorized(const sw_router *r, const char *authorization)
{
    if (!r->token)
        return 1;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *given = authorization + 7;
    size_t n = strlen(r->token), m = strlen(given);
    /* Constant time in the token's length: every byte is compared, whatever differs. */
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(r->token[i] ^ (i < m ? given[i] : 0));
    return diff == 0;
}

/* "since": epoch seconds or milliseconds, ISO 8601 UTC, or a duration back from now
   ("90s", "5m", "2h"). */
static int parse_since(const char *s, int64_t now, int64_t *out)
{
    if (!s || !*s) {
        *out = 0;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end != s && *end == '\0') {
        *out = v > 1e11 ? (int64_t)v : (int64_t)(v * 1000);
        return 0;
    }
    if (end != s && end[1] == '\0' && v >= 0) {
        double mult = *end == 's'   ? 1e3
                      : *end == 'm' ? 60e3
                      : *end == 'h' ? 3600e3
                      : *end == 'd' ? 86400e3
                                    : 0;
        if (mult > 0) {
            *out = now - (int64_t)(v * mult);
            return 0;
        }
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest) {
        double frac = 0;
        if (*rest == '.')
            frac = strtod(rest, (char **)&rest);
        if (*rest == 'Z' || *rest == '\0') {
            *out = (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000);
            return 0;
        }
    }
    return -1;
}

static json_t *route_view(sw_router *r, const sw_route *route)
{
    json_t *j = sw_route_to_json(route);
    json_object_set_new(j, "pins", sw_pins_summary(&r->pins, route->agent));
    return j;
}

static int get_route(sw_router *r, const char *agent, json_t **out)
{
    const sw_route *route = sw_hmap_get(&r->routes, agent);
    if (!route)
        return sw_route_fail(out, 404, "agent_not_found", "agent '%s' has no route", agent);
    *out = route_view(r, route);
    return 200;
}

/* Publish next (replacing cur), apply the session policy to pins of versions
   that left, and make it durable before answering. */
static int commit(sw_router *r, sw_route *cur, sw_route *next, sw_policy policy, int wait_replicas,
                  size_t *affected, json_t **out)
{
    if (r->shared) {
        /* The database first: a change it refuses changes nothing here. */
        json_t *j = sw_route_to_json(next);
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        int64_t stored = 0;
        sw_err err = {{0}};
        int rc = sw_shared_put(r->shared, next->agent, cur ? cur->version : 0, text,
                               sw_policy_name(policy), wait_replicas, &stored, &err);
        free(text);
        if (rc != 0) {
            const char *agent = next->agent;
            int64_t mine = cur ? cur->version : 0;
            if (rc == 1) {
                int st = sw_route_db_conflict(out, agent, stored, mine);
                sw_route_unref(next);
                return st;
            }
            if (rc == 2) {
                sw_route_fail(out, 503, "replicas_catching_up",
                              "route changes wait for every replica to write the pins it kept "
                              "while the state database was away: %s",
                              err.msg);
                sw_route_unref(next);
                return 503;
            }
            sw_route_fail(
                out, 503, "state_backend_unavailable",
                "route changes are refused while the state database is unreachable: %s; the "
                "routes and pins in use keep serving",
                err.msg);
            sw_route_unref(next);
            return 503;
        }
    }
    if (cur)
        sw_route_ref(cur);
    *affected = sw_router_retire(r, cur, next, policy);
    sw_router_publish(r, next);
    sw_err err = {{0}};
    int saved = sw_router_save_sync(r, &err);
    if (saved < 0 && r->shared) {
        /* Committed in the database, which is the truth: the file is a local copy. */
        sw_router_logf(r, SW_LOG_WARN, "agent '%s': %s", next->agent, err.msg);
    } else if (saved < 0) {
        if (cur)
            sw_router_publish(r, cur); /* back to what is on disk */
        else {
            sw_route_unref(sw_hmap_del(&r->routes, next->agent));
        }
        return sw_route_fail(out, 500, "state_not_saved", "the change was not applied: %s",
                             err.msg);
    }
    sw_route_unref(cur);
    sw_router_logf(r, SW_LOG_INFO,
                   "agent '%s': route version %lld: stable=%s candidate=%s weight=%g", next->agent,
                   (long long)next->version, next->stable, next->candidate ? next->candidate : "-",
                   next->weight);
    return 0;
}

static sw_route *build(void *ud, const char *agent, sw_mode mode, const json_t *j, sw_err *err)
{
    return sw_router_build_route(ud, agent, mode, j, err);
}

static int put_route(sw_router *r, const char *agent, const char *body, size_t len, json_t **out)
{
    json_error_t je;
    json_t *patch = json_loadb(body, len, 0, &je);
    if (!json_is_object(patch)) {
        json_decref(patch);
        return sw_route_fail(out, 400, "invalid_json",
                             "the body must be a JSON object (a route or the "
                             "fields to change)");
    }
    sw_route *cur = sw_hmap_get(&r->routes, agent);
    sw_route_builder b = {build, r};
    sw_route *next = NULL;
    int st = sw_route_change_set(cur, agent, sw_router_agent_mode(r, agent), patch, &b, &next, out);
    json_decref(patch);
    if (st)
        return st;
    size_t affected = 0;
    /* A step waits for the replicas to catch up after an outage; a rollback never waits. */
    st = commit(r, cur, next, next->on_change, 1, &affected, out);
    if (st)
        return st;
    *out = route_view(r, next);
    json_object_set_new(*out, "pins_affected", json_integer((json_int_t)affected));
    return 200;
}

static int rollback(sw_router *r, const char *agent, const char *body, size_t len, json_t **out)
{
    sw_route *cur = sw_hmap_get(&r->routes, agent);
    if (!cur)
        return sw_route_fail(out, 404, "agent_not_found", "agent '%s' has no route", agent);
    json_t *req = len ? json_loadb(body, len, 0, NULL) : json_object();
    if (!json_is_object(req)) {
        json_decref(req);
        return sw_route_fail(out, 400, "invalid_json",
                             "the body must be a JSON object such as "
                             "{\"sessions\": \"drain\"}");
    }
    sw_route_builder b = {build, r};
    sw_route *next = NULL;
    sw_policy policy;
    int st = sw_route_change_rollback(cur, agent, req, &b, &next, &policy, out);
    json_decref(req);
    if (st)
        return st;
    json_t *answer = sw_route_rollback_answer(cur, next, policy); /* before cur may go */
    size_t affected = 0;
    st = commit(r, cur, next, policy, 0, &affected, out);
    if (st) {
        json_decref(answer);
        return st;
    }
    json_object_set_new(answer, "pins_affected", json_integer((json_int_t)affected));
    json_object_set_new(answer, "route", route_view(r, next));
    *out = answer;
    return 200;
}

static int pins(sw_router *r, const char *method, const char *agent, const char *session,
                sw_arg_fn arg, void *ud, const char *body, size_t len, json_t **out)
{
    sw_route *route = sw_hmap_get(&r->routes, agent);
    if (!route)
        return sw_route_fail(out, 404, "agent_not_found", "agent '%s' has no route", agent);
    if (!session) {
        if (strcmp(method, "GET") != 0)
            return sw_route_fail(out, 405, "method_not_allowed", "use GET on .../pins");
        const char *lim = arg(ud, "limit");
        size_t limit = lim ? (size_t)strtoul(lim, NULL, 10) : 1000;
        *out = json_pack("{s:s, s:o, s:o}", "agent", agent, "summary",
                         sw_pins_summary(&r->pins, agent), "pins",
                         sw_pins_list(&r->pins, agent, limit));
        return 200;
    }
    if (strcmp(method, "GET") == 0) {
        sw_pin *pin = sw_pins_get(&r->pins, agent, session);
        if (!pin)
            return sw_route_fail(out, 404, "session_not_found",
                                 "session '%s' of agent '%s' is not pinned", session, agent);
        *out = json_pack("{s:s, s:s, s:s, s:s, s:b}", "agent", agent, "session", session, "version",
                         pin->version, "reason", sw_reason_name(pin->reason), "terminated",
                         pin->terminated);
        return 200;
    }
    if (strcmp(method, "DELETE") == 0) {
        sw_pins_del(&r->pins, agent, session);
        *out = json_pack("{s:s, s:s, s:b}", "agent", agent, "session", session, "deleted", 1);
        return 200;
    }
    if (strcmp(method, "PUT") != 0)
        return sw_route_fail(out, 405, "method_not_allowed", "use GET, PUT or DELETE on a pin");
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *given = json_string_value(json_object_get(j, "version"));
    char *version = sw_xstrdup(given);
    json_decref(j);
    if (!version)
        return sw_route_fail(out, 400, "invalid_pin", "the body must be {\"version\": NAME}");
    int st = 0;
    if (!sw_route_find(route, version))
        st = sw_route_fail(out, 400, "invalid_pin", "'%s' is not a version of agent '%s'", version,
                           agent);
    else if (strlen(session) > SW_SESSION_MAX)
        st = sw_route_fail(out, 400, "invalid_pin", "a session key is at most %d bytes",
                           SW_SESSION_MAX);
    else {
        sw_pin *pin =
            sw_pins_set(&r->pins, agent, session, version, SW_REASON_OVERRIDE, sw_wall_ms());
        if (!pin)
            st = sw_route_fail(out, 507, "pins_full", "the pin table is full (%zu)", r->pins.max);
        sw_router_share_pin(r, pin);
    }
    sw_err err = {{0}};
    if (!st && sw_router_save_sync(r, &err) < 0)
        st = sw_route_fail(out, 500, "state_not_saved", "%s", err.msg);
    if (st) {
        free(version);
        return st;
    }
    *out = json_pack("{s:s, s:s, s:s, s:s}", "agent", agent, "session", session, "version", version,
                     "reason", "override");
    free(version);
    return 200;
}

int sw_admin_handle(sw_router *r, const char *method, const char *path, sw_arg_fn arg, void *ud,
                    const char *body, size_t len, json_t **out)
{
    int get = strcmp(method, "GET") == 0;
    int64_t now = sw_wall_ms();
    if (strcmp(path, "/admin/agents") == 0 || strcmp(path, "/admin/agents/") == 0) {
        if (!get)
            return sw_route_fail(out, 405, "method_not_allowed", "use GET on /admin/agents");
        json_t *list = json_array();
        for (sw_hmap_entry *e = sw_hmap_first(&r->routes); e; e = sw_hmap_next(&r->routes, e))
            json_array_append_new(list, route_view(r, e->value));
        *out = json_pack("{s:o}", "agents", list);
        return 200;
    }
    if (strcmp(path, "/admin/stats") == 0) {
        if (!get)
            return sw_route_fail(out, 405, "method_not_allowed", "use GET on /admin/stats");
        int64_t since;
        if (parse_since(arg(ud, "since"), now, &since) < 0)
            return sw_route_fail(
                out, 400, "invalid_since",
                "'since' must be epoch seconds or milliseconds, an ISO 8601 UTC time, or "
                "a duration back from now such as 5m");
        const char *agent = arg(ud, "agent");
        if (agent && !sw_hmap_get(&r->routes, agent))
            return sw_route_fail(out, 404, "agent_not_found", "agent '%s' has no route", agent);
        /* Raw samples for rank tests: bounded, so the answer stays small. */
        const char *ns = arg(ud, "samples");
        char *end = NULL;
        unsigned long n_samples = ns ? strtoul(ns, &end, 10) : 0;
        if (ns && (!*ns || *end || *ns == '-'))
            return sw_route_fail(
                out, 400, "invalid_samples",
                "'samples' must be a count of latency samples per version (at most %d)",
                SW_STATS_SAMPLES_MAX);
        *out = sw_metrics_stats_ex(&r->metrics, agent, since, now, (size_t)n_samples);
        if (agent)
            json_object_set_new(*out, "pins", sw_pins_summary(&r->pins, agent));
        return 200;
    }
    if (strcmp(path, "/admin/shadow") == 0) {
        if (!get)
            return sw_route_fail(out, 405, "method_not_allowed", "use GET on /admin/shadow");
        int64_t since;
        if (parse_since(arg(ud, "since"), now, &since) < 0)
            return sw_route_fail(out, 400, "invalid_since", "bad 'since'");
        const char *lim = arg(ud, "limit");
        *out = json_pack(
            "{s:o}", "pairs",
            sw_pairs_list(r, arg(ud, "agent"), since, lim ? (size_t)strtoul(lim, NULL, 10) : 100));
        return 200;
    }
    const char *rest = NULL;
    char *agent = sw_route_admin_agent(path, &rest);
    if (!agent)
        return sw_route_fail(out, 404, "not_found", "no such admin endpoint: %s", path);
    int st;
    if (!get)
        sw_router_shared_apply(r); /* changes are based on the newest route seen */
    if (strcmp(rest, "/route") == 0) {
        if (get)
            st = get_route(r, agent, out);
        else if (strcmp(method, "PUT") == 0)
            st = put_route(r, agent, body, len, out);
        else
            st = sw_route_fail(out, 405, "method_not_allowed", "use GET or PUT on %s", path);
    } else if (strcmp(rest, "/rollback") == 0) {
        st = strcmp(method, "POST") == 0
                 ? rollback(r, agent, body, len, out)
                 : sw_route_fail(out, 405, "method_not_allowed", "use POST on %s", path);
    } else if (strcmp(rest, "/pins") == 0) {
        st = pins(r, method, agent, NULL, arg, ud, body, len, out);
    } else if (strncmp(rest, "/pins/", 6) == 0 && rest[6]) {
        st = pins(r, method, agent, rest + 6, arg, ud, body, len, out);
    } else {
        st = sw_route_fail(out, 404, "not_found", "no such admin endpoint: %s", path);
    }
    free(agent);
    return st;
}
