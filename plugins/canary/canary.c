/*
 * canary.c - the `canary` stage: send a growing share of new sessions to the
 * candidate, one step at a time (each a compare-and-swap on the router's
 * route, then a cancellable hold), and promote it at the end: the store's
 * stable channel first, then the router's route.
 *
 * Resuming re-runs the stage, so it starts by reading where things are: a
 * candidate already promoted in the store but not in the router is finished
 * there; steps below the route's current weight are not repeated (a ramp only
 * ever adds sessions).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../rollback/admin_client.h"
#include "base/util.h"
#include "lua/gate.h"
#include "model/context.h"
#include "model/value.h"
#include "slipway/plugin.h"
#include "slipway/store.h"
#include "steps.h"

typedef struct canary_cfg {
    const char *router;
    const char *token_file;
    const char *agent;
    const char *candidate;
    const char *release;
    const char *steps;
    int64_t hold_ms;
    int64_t min_sessions;
    int64_t min_sessions_wait_ms;
    int64_t max_candidate_sessions;
    double max_candidate_cost;
    const char *approve;
    const char *approve_file;
    int64_t approve_timeout_ms;
    int promote;
} canary_cfg;

static const sw_param params[] = {
    {"router", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(canary_cfg, router),
     "the router's base URL"},
    {"token_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(canary_cfg, token_file),
     "a file holding the router's admin token"},
    {"agent", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(canary_cfg, agent), "the agent"},
    {"candidate", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(canary_cfg, candidate),
     "the router version of the candidate (a release id in gateway mode)"},
    {"release", SW_TYPE_STRING, 0, NULL, offsetof(canary_cfg, release),
     "the store release promoted to stable; default: the candidate when the store knows it"},
    {"steps", SW_TYPE_JSON, 0, "[5, 25, 50, 100]", offsetof(canary_cfg, steps),
     "weights, or {weight, hold, shadow, rules, min_sessions} objects"},
    {"hold", SW_TYPE_INT, SW_PARAM_DURATION, "30s", offsetof(canary_cfg, hold_ms),
     "each step's hold when the step does not say"},
    {"min_sessions", SW_TYPE_INT, 0, "0", offsetof(canary_cfg, min_sessions),
     "sessions the candidate must have reached before a step is done"},
    {"min_sessions_wait", SW_TYPE_INT, SW_PARAM_DURATION, "10m",
     offsetof(canary_cfg, min_sessions_wait_ms),
     "the longest a step waits for min_sessions after its hold (then the stage fails)"},
    {"max_candidate_sessions", SW_TYPE_INT, 0, "0", offsetof(canary_cfg, max_candidate_sessions),
     "exposure cap: no further ramp while the candidate holds this many pinned sessions "
     "(0: none)"},
    {"max_candidate_cost", SW_TYPE_DOUBLE, 0, "0", offsetof(canary_cfg, max_candidate_cost),
     "exposure cap: no further ramp once the candidate cost this much since the stage began "
     "(0: none)"},
    {"approve", SW_TYPE_STRING, 0, NULL, offsetof(canary_cfg, approve),
     "a Lua condition over canary.* and stats.* that must hold before promotion"},
    {"approve_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(canary_cfg, approve_file),
     "a file whose appearance approves the promotion (a human's approval)"},
    {"approve_timeout", SW_TYPE_INT, SW_PARAM_DURATION, "1h",
     offsetof(canary_cfg, approve_timeout_ms), "how long to wait for approve_file"},
    {"promote", SW_TYPE_BOOL, 0, "true", offsetof(canary_cfg, promote),
     "promote after the last step (false: leave the candidate at its last weight)"},
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};
static const sw_port outputs[] = {
    {"steps_done", SW_TYPE_INT, 0, "steps held to their end"},
    {"final_weight", SW_TYPE_DOUBLE, 0, "the candidate's weight when the stage ended"},
    {"promoted", SW_TYPE_BOOL, 0, "the candidate is stable in the store and the router"},
    {"sessions_on_candidate", SW_TYPE_INT, 0, "sessions pinned to the candidate"},
    {NULL, 0, 0, NULL}};

typedef struct canary {
    sw_canary_plan plan;
    sw_gate *approve;
} canary;

static sw_status init(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = config;
    canary *k = sw_xcalloc(1, sizeof *k);
    h->set_data(stage, k);
    if (c->max_candidate_sessions < 0 || c->max_candidate_cost < 0 || c->min_sessions < 0)
        return h->error(stage, "max_candidate_sessions, max_candidate_cost and min_sessions cannot "
                               "be negative");
    sw_err e = {{0}};
    if (sw_canary_plan_parse(c->steps, c->hold_ms, c->min_sessions, &k->plan, &e) < 0)
        return h->error(stage, "%s", e.msg);
    if (c->approve && *c->approve) {
        k->approve = sw_gate_compile(c->approve, "approve", 1, NULL, &e);
        if (!k->approve)
            return h->error(stage, "approve: %s", e.msg);
    }
    return SW_OK;
}

static void fini(sw_stage *stage)
{
    canary *k = sw_host_api->data(stage);
    if (!k)
        return;
    sw_canary_plan_free(&k->plan);
    sw_gate_free(k->approve);
    free(k);
}

typedef struct run_state {
    sw_stage *stage;
    const canary_cfg *c;
    sw_admin_client ac;
    char *route_path;
    int64_t steps_done;
    double weight;
    int64_t on_candidate;
    int64_t start_ms; /* wall clock: the window of the spend cap */
} run_state;

static sw_status get_route(run_state *r, json_t **route)
{
    char msg[1024];
    if (sw_admin_client_json(&r->ac, "GET", r->route_path, NULL, route, NULL, msg, sizeof msg))
        return sw_host_api->error(r->stage, "%s", msg);
    json_t *n = json_object_get(json_object_get(json_object_get(*route, "pins"), "by_version"),
                                r->c->candidate);
    if (json_is_integer(n))
        r->on_candidate = json_integer_value(n);
    return SW_OK;
}

/* PUT a patch of the route, compare-and-swap on its version; on a conflict read
   it again and retry, as long as the candidate is still ours. */
static sw_status put_route(run_state *r, json_t *patch)
{
    const sw_host *h = sw_host_api;
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *route = NULL;
        if (get_route(r, &route) != SW_OK) {
            json_decref(patch);
            return SW_ERROR;
        }
        const char *cand = json_string_value(json_object_get(route, "candidate"));
        const char *stable = json_string_value(json_object_get(route, "stable"));
        if (attempt > 0 && cand && strcmp(cand, r->c->candidate) != 0 &&
            !(stable && strcmp(stable, r->c->candidate) == 0)) {
            json_decref(route);
            json_decref(patch);
            return h->error(r->stage, "the route of '%s' changed under the canary: candidate '%s'",
                            r->c->agent, cand);
        }
        json_object_set(patch, "version", json_object_get(route, "version"));
        json_decref(route);
        char *body = json_dumps(patch, JSON_COMPACT);
        char msg[1024];
        int status = 0;
        json_t *res = NULL;
        int rc = sw_admin_client_json(&r->ac, "PUT", r->route_path, body, &res, &status, msg,
                                      sizeof msg);
        free(body);
        if (rc == 0) {
            json_decref(res);
            json_decref(patch);
            return SW_OK;
        }
        if (status != 409) {
            json_decref(patch);
            return h->error(r->stage, "%s", msg);
        }
        h->log(r->stage, SW_LOG_WARN, "route changed meanwhile; reading it again");
    }
    json_decref(patch);
    return h->error(r->stage, "the route of '%s' kept changing: gave up after 5 attempts",
                    r->c->agent);
}

/* Hold for ms, in slices so cancellation is seen at once. SW_ERROR when cancelled. */
static sw_status hold(run_state *r, int64_t ms)
{
    const sw_host *h = sw_host_api;
    if (h->wait(r->stage, ms))
        return h->error(r->stage, "cancelled during the hold at %g%%", r->weight);
    return SW_OK;
}

static sw_status wait_sessions(run_state *r, int64_t need)
{
    const sw_host *h = sw_host_api;
    int64_t waited = 0;
    for (;;) {
        json_t *route = NULL;
        if (get_route(r, &route) != SW_OK)
            return SW_ERROR;
        json_decref(route);
        if (r->on_candidate >= need)
            return SW_OK;
        if (waited >= r->c->min_sessions_wait_ms)
            return h->fail(r->stage,
                           "step at %g%%: %lld of the %lld sessions needed reached the candidate "
                           "within %lld ms",
                           r->weight, (long long)r->on_candidate, (long long)need,
                           (long long)r->c->min_sessions_wait_ms);
        if (h->wait(r->stage, 500))
            return h->error(r->stage, "cancelled waiting for sessions at %g%%", r->weight);
        waited += 500;
    }
}

/* The candidate's spend since the stage began, from the router's stats; -1 when unknown. */
static double candidate_cost(run_state *r)
{
    char *path =
        sw_xasprintf("/admin/stats?agent=%s&since=%lld", r->c->agent, (long long)r->start_ms);
    json_t *st = NULL;
    char msg[1024];
    int rc = sw_admin_client_json(&r->ac, "GET", path, NULL, &st, NULL, msg, sizeof msg);
    free(path);
    if (rc) {
        sw_host_api->log(r->stage, SW_LOG_WARN, "%s", msg);
        return -1;
    }
    const json_t *v = json_object_get(json_object_get(st, "versions"), r->c->candidate);
    double cost = json_number_value(json_object_get(v, "cost"));
    json_decref(st);
    return cost;
}

/* Exposure caps, before the weight goes up: wait up to the step's hold for them to clear
   (pins expire when sessions go idle; spend never goes down), then fail. */
static sw_status check_caps(run_state *r, const sw_canary_step *s)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    if ((c->max_candidate_sessions <= 0 && c->max_candidate_cost <= 0) || s->weight <= r->weight)
        return SW_OK;
    for (int64_t waited = 0;; waited += 500) {
        json_t *route = NULL;
        if (get_route(r, &route) != SW_OK)
            return SW_ERROR;
        json_decref(route);
        double cost = c->max_candidate_cost > 0 ? candidate_cost(r) : 0;
        int over_s = c->max_candidate_sessions > 0 && r->on_candidate >= c->max_candidate_sessions;
        int over_c = c->max_candidate_cost > 0 && cost >= c->max_candidate_cost;
        if (!over_s && !over_c)
            return SW_OK;
        if (waited >= s->hold_ms) {
            if (over_s)
                return h->fail(r->stage,
                               "exposure cap: %lld sessions on the candidate (max %lld); stopped "
                               "at %g%%, before %g%%",
                               (long long)r->on_candidate, (long long)c->max_candidate_sessions,
                               r->weight, s->weight);
            return h->fail(r->stage,
                           "exposure cap: the candidate cost %g (max %g); stopped at %g%%, "
                           "before %g%%",
                           cost, c->max_candidate_cost, r->weight, s->weight);
        }
        if (h->wait(r->stage, 500))
            return h->error(r->stage, "cancelled at an exposure cap");
    }
}

static sw_status approve(run_state *r, canary *k)
{
    const sw_host *h = sw_host_api;
    if (k->approve) {
        sw_context *ctx = sw_context_new();
        sw_value v = sw_value_int(r->steps_done);
        sw_context_set(ctx, "canary.steps_done", &v, "canary", 0);
        v = sw_value_double(r->weight);
        sw_context_set(ctx, "canary.weight", &v, "canary", 0);
        v = sw_value_int(r->on_candidate);
        sw_context_set(ctx, "canary.sessions_on_candidate", &v, "canary", 0);
        char *reason = NULL;
        sw_gate_result g = sw_gate_eval(k->approve, ctx, &reason);
        sw_context_free(ctx);
        if (g != SW_GATE_PASS) {
            sw_status st = h->fail(r->stage, "approve: %s", reason ? reason : "not approved");
            free(reason);
            return st;
        }
        free(reason);
    }
    if (r->c->approve_file && *r->c->approve_file) {
        h->log(r->stage, SW_LOG_INFO, "waiting for the approval file %s", r->c->approve_file);
        int64_t waited = 0;
        while (access(r->c->approve_file, F_OK) != 0) {
            if (waited >= r->c->approve_timeout_ms)
                return h->fail(r->stage, "no approval (%s) within %lld ms", r->c->approve_file,
                               (long long)r->c->approve_timeout_ms);
            if (h->wait(r->stage, 250))
                return h->error(r->stage, "cancelled waiting for approval");
            waited += 250;
        }
    }
    return SW_OK;
}

/* The store's release for the candidate, or NULL when the store does not know it. */
static char *store_release(sw_stage *stage, const canary_cfg *c, sw_store *s)
{
    sw_store_error e = {0};
    char *agent = NULL, *id = NULL;
    const char *ref = c->release && *c->release ? c->release : c->candidate;
    if (sw_store_resolve(s, c->agent, ref, &agent, &id, &e) != SW_STORE_OK) {
        if (c->release && *c->release)
            sw_host_api->log(stage, SW_LOG_WARN, "release '%s': %s", ref, e.message);
        free(agent);
        return NULL;
    }
    free(agent);
    return id;
}

/* Promotion, store then router, each a compare-and-swap and each skipped when done. */
static sw_status promote(run_state *r, json_t *route)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    sw_store_error e = {0};
    sw_store *s = sw_store_open(h->state_dir(r->stage), &e);
    if (!s)
        return h->error(r->stage, "%s", e.message);
    char *id = store_release(r->stage, c, s);
    sw_status st = SW_OK;
    if (id) {
        char *stable = NULL, *cand = NULL;
        char *why = sw_xasprintf("canary stage '%s': promoted after %lld steps",
                                 h->stage_id(r->stage), (long long)r->steps_done);
        sw_change_info info = {.reason = why, .run_id = h->run_id(r->stage)};
        if (sw_store_channel(s, c->agent, "stable", &stable, &e) != SW_STORE_OK ||
            sw_store_channel(s, c->agent, "candidate", &cand, &e) != SW_STORE_OK ||
            sw_store_set_channel(s, c->agent, "stable", id, stable, &info, &e) != SW_STORE_OK ||
            (cand && strcmp(cand, id) == 0 &&
             sw_store_set_channel(s, c->agent, "candidate", NULL, cand, &info, &e) != SW_STORE_OK))
            st = h->error(r->stage, "promoting %s in the store: %s", id, e.message);
        else if (!stable || strcmp(stable, id) != 0)
            h->log(r->stage, SW_LOG_INFO, "store: stable %s -> %s", stable ? stable : "(none)", id);
        free(why);
        free(stable);
        free(cand);
        free(id);
    }
    sw_store_close(s);
    if (st != SW_OK)
        return st;
    const char *rstable = json_string_value(json_object_get(route, "stable"));
    if (rstable && strcmp(rstable, c->candidate) == 0 &&
        json_is_null(json_object_get(route, "candidate")))
        return SW_OK;
    json_t *patch = json_pack("{s:s, s:n, s:i, s:n}", "stable", c->candidate, "candidate", "weight",
                              0, "shadow");
    st = put_route(r, patch);
    if (st == SW_OK)
        h->log(r->stage, SW_LOG_INFO, "router: stable is now %s", c->candidate);
    return st;
}

static sw_status set_outputs(run_state *r, int promoted)
{
    const sw_host *h = sw_host_api;
    if (h->set_int(r->stage, "steps_done", r->steps_done) != SW_OK ||
        h->set_double(r->stage, "final_weight", r->weight) != SW_OK ||
        h->set_bool(r->stage, "promoted", promoted) != SW_OK ||
        h->set_int(r->stage, "sessions_on_candidate", r->on_candidate) != SW_OK)
        return h->error(r->stage, "setting outputs: %s", h->last_error(r->stage));
    return SW_OK;
}

static sw_status ramp(run_state *r, canary *k)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    json_t *route = NULL;
    if (get_route(r, &route) != SW_OK)
        return SW_ERROR;
    const char *rstable = json_string_value(json_object_get(route, "stable"));
    const char *rcand = json_string_value(json_object_get(route, "candidate"));
    size_t first = 0;
    if (rstable && strcmp(rstable, c->candidate) == 0) {
        /* Promoted in the router already: finish the store if a crash came between. */
        r->steps_done = (int64_t)k->plan.n;
        r->weight = 100;
        sw_status st = promote(r, route);
        json_decref(route);
        return st == SW_OK ? set_outputs(r, 1) : st;
    }
    if (rcand && strcmp(rcand, c->candidate) == 0) {
        double cur = json_number_value(json_object_get(route, "weight"));
        first = sw_canary_resume_index(&k->plan, cur);
        if (first > 0)
            h->log(r->stage, SW_LOG_INFO, "resuming at step %zu: the route already sends %g%%",
                   first + 1, cur);
        r->steps_done = (int64_t)first;
        r->weight = cur;
    } else if (rcand && json_number_value(json_object_get(route, "weight")) > 0) {
        h->log(r->stage, SW_LOG_WARN, "replacing the route's candidate %s (at %g%%) with %s", rcand,
               json_number_value(json_object_get(route, "weight")), c->candidate);
    }
    json_decref(route);
    for (size_t i = first; i < k->plan.n; i++) {
        const sw_canary_step *s = &k->plan.steps[i];
        sw_status cap = check_caps(r, s);
        if (cap != SW_OK)
            return cap;
        json_t *patch = json_pack("{s:s, s:f}", "candidate", c->candidate, "weight", s->weight);
        if (s->shadow >= 0)
            json_object_set_new(patch, "shadow",
                                s->shadow > 0 ? json_pack("{s:s, s:f}", "version", c->candidate,
                                                          "percent", s->shadow)
                                              : json_null());
        if (s->rules)
            json_object_set_new(patch, "rules", json_loads(s->rules, 0, NULL));
        if (put_route(r, patch) != SW_OK)
            return SW_ERROR;
        r->weight = s->weight;
        char note[96];
        snprintf(note, sizeof note, "step %zu/%zu: %g%%%s", i + 1, k->plan.n, s->weight,
                 s->shadow > 0 ? " (shadow)" : "");
        h->progress(r->stage, (double)i / (double)k->plan.n, note);
        h->log(r->stage, SW_LOG_INFO, "%s, holding %lld ms", note, (long long)s->hold_ms);
        if (hold(r, s->hold_ms) != SW_OK)
            return SW_ERROR;
        if (s->min_sessions > 0) {
            sw_status st = wait_sessions(r, s->min_sessions);
            if (st != SW_OK)
                return st;
        }
        r->steps_done = (int64_t)i + 1;
    }
    if (get_route(r, &route) != SW_OK)
        return SW_ERROR;
    int promoted = 0;
    if (c->promote && r->weight >= 100) {
        sw_status st = approve(r, k);
        if (st == SW_OK)
            st = promote(r, route);
        if (st != SW_OK) {
            json_decref(route);
            set_outputs(r, 0);
            return st;
        }
        promoted = 1;
    }
    json_decref(route);
    h->progress(r->stage, 1.0, promoted ? "promoted" : NULL);
    return set_outputs(r, promoted);
}

static sw_status run(sw_stage *stage, const void *config)
{
    const canary_cfg *c = config;
    canary *k = sw_host_api->data(stage);
    run_state r = {.stage = stage, .c = c, .start_ms = sw_wall_ms()};
    if (sw_admin_client_init(&r.ac, stage, c->router, c->token_file) != SW_OK)
        return SW_ERROR;
    r.route_path = sw_xasprintf("/admin/agents/%s/route", c->agent);
    sw_status st = ramp(&r, k);
    free(r.route_path);
    sw_admin_client_fini(&r.ac);
    return st;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "canary",
    .version = "1.0.0",
    .summary = "Ramp a candidate up on the router step by step, then promote it",
    .params = params,
    .config_size = sizeof(canary_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = fini,
};

SW_PLUGIN(desc)
