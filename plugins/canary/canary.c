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
 *
 * A router that is briefly away (restarted, redeployed) or cannot change
 * routes for a while (503: its state database is unreachable) does not fail
 * the rollout: such calls are tried again for router_retry. A
 * background monitor can hold the ramp (its `hold` output) and lengthen a
 * step's hold (its `extend_ms`). The report section is rewritten after every
 * step, so a run that dies mid-way still shows how far it got.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../rollback/admin_client.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "lua/gate.h"
#include "model/context.h"
#include "model/value.h"
#include "report.h"
#include "slipway/plugin.h"
#include "slipway/store.h"
#include "steps.h"

typedef struct canary_cfg {
    const char *router;
    const char *token_file;
    const char *agent;
    const char *candidate;
    const char *release;
    const char *baseline; /* JSON text: a release id or null; NULL when not given */
    const char *steps;
    int64_t hold_ms;
    int64_t min_sessions;
    int64_t min_sessions_wait_ms;
    int64_t max_candidate_sessions;
    double max_candidate_cost;
    int64_t max_exposure;
    const char *approve;
    const char *approve_file;
    int64_t approve_timeout_ms;
    const char *approve_url;
    const char *approve_token_file;
    int64_t approve_interval_ms;
    const char *monitor;
    int64_t hold_max_ms;
    int64_t evidence_wait_ms;
    const char *on_inconclusive;
    int64_t router_retry_ms;
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
    {"baseline", SW_TYPE_ANY, 0, NULL, offsetof(canary_cfg, baseline),
     "the store's stable the candidate was judged against (${release.previous}; null on a "
     "first release): promotion fails if another run changed stable since; not given: "
     "stable as found at promotion"},
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
    {"max_exposure", SW_TYPE_INT, 0, "0", offsetof(canary_cfg, max_exposure),
     "the most sessions that may see the candidate before the monitor has enough evidence "
     "(0: no cap); reached without it, the stage fails"},
    {"max_candidate_cost", SW_TYPE_DOUBLE, 0, "0", offsetof(canary_cfg, max_candidate_cost),
     "exposure cap: no further ramp once the candidate cost this much since the stage began "
     "(0: none)"},
    {"approve", SW_TYPE_STRING, 0, NULL, offsetof(canary_cfg, approve),
     "a Lua condition over canary.* and stats.* that must hold before promotion"},
    {"approve_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(canary_cfg, approve_file),
     "a file whose appearance approves the promotion (a human's approval)"},
    {"approve_timeout", SW_TYPE_INT, SW_PARAM_DURATION, "1h",
     offsetof(canary_cfg, approve_timeout_ms), "how long to wait for approve_file or approve_url"},
    {"approve_url", SW_TYPE_STRING, 0, NULL, offsetof(canary_cfg, approve_url),
     "a URL polled before promotion: 200 {\"approved\": true} approves, {\"approved\": false, "
     "\"reason\"} or 403 rejects; 404, 5xx and no answer keep waiting"},
    {"approve_token_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL,
     offsetof(canary_cfg, approve_token_file), "a file holding a Bearer token for approve_url"},
    {"approve_interval", SW_TYPE_INT, SW_PARAM_DURATION, "5s",
     offsetof(canary_cfg, approve_interval_ms), "how often approve_url is asked"},
    {"monitor", SW_TYPE_STRING, 0, NULL, offsetof(canary_cfg, monitor),
     "the id of a background monitor whose <id>.hold pauses the ramp and whose <id>.extend_ms "
     "lengthens a step's hold"},
    {"hold_max", SW_TYPE_INT, SW_PARAM_DURATION, "10m", offsetof(canary_cfg, hold_max_ms),
     "the longest the monitor may hold the ramp before a step (then the stage fails), and the "
     "most one step's hold is extended by"},
    {"evidence_wait", SW_TYPE_INT, SW_PARAM_DURATION, "10m", offsetof(canary_cfg, evidence_wait_ms),
     "the longest a step above 0% waits, from its start, until the monitor's <id>.evidence is "
     "enough (every guarded metric could have seen its min_effect); then the step is "
     "inconclusive"},
    {"on_inconclusive", SW_TYPE_STRING, 0, "hold", offsetof(canary_cfg, on_inconclusive),
     "an inconclusive step: hold (wait for a human through approve_file or approve_url), "
     "rollback (the stage fails), or promote (go on, with a warning in the log and the report)"},
    {"router_retry", SW_TYPE_INT, SW_PARAM_DURATION, "30s", offsetof(canary_cfg, router_retry_ms),
     "how long router calls that get no answer (a router restarting), and route changes refused "
     "with 503 (the router's state database unreachable), are tried again"},
    {"promote", SW_TYPE_BOOL, 0, "true", offsetof(canary_cfg, promote),
     "promote after the last step (false: leave the candidate at its last weight)"},
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};
static const sw_port outputs[] = {
    {"steps_done", SW_TYPE_INT, 0, "steps held to their end"},
    {"final_weight", SW_TYPE_DOUBLE, 0, "the candidate's weight when the stage ended"},
    {"promoted", SW_TYPE_BOOL, 0, "the candidate is stable in the store and the router"},
    {"sessions_on_candidate", SW_TYPE_INT, 0, "sessions pinned to the candidate"},
    {"evidence", SW_TYPE_STRING, 0,
     "enough (the monitor had it at every step), inconclusive (some step went on without it), "
     "or none (no monitor, or one without guarded metrics)"},
    {NULL, 0, 0, NULL}};

typedef struct canary {
    int has_baseline; /* promotion compares stable with baseline_id */
    char *baseline_id;
    sw_canary_plan plan;
    sw_gate *approve;
    sw_canary_on_inconclusive on_inconclusive;
} canary;

static sw_status init(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = config;
    canary *k = sw_xcalloc(1, sizeof *k);
    h->set_data(stage, k);
    if (c->max_candidate_sessions < 0 || c->max_candidate_cost < 0 || c->min_sessions < 0 ||
        c->max_exposure < 0)
        return h->error(stage, "max_candidate_sessions, max_candidate_cost, max_exposure and "
                               "min_sessions cannot be negative");
    if (c->approve_url && *c->approve_url && strncmp(c->approve_url, "http://", 7) != 0 &&
        strncmp(c->approve_url, "https://", 8) != 0)
        return h->error(stage, "approve_url: '%s' is not an http:// or https:// URL",
                        c->approve_url);
    if (c->approve_interval_ms <= 0)
        return h->error(stage, "approve_interval must be above 0");
    if (c->monitor && *c->monitor && strcmp(c->monitor, h->stage_id(stage)) == 0)
        return h->error(stage, "monitor: '%s' is this stage", c->monitor);
    if (sw_canary_on_inconclusive_parse(c->on_inconclusive, &k->on_inconclusive) < 0)
        return h->error(stage, "on_inconclusive must be hold, rollback or promote, not '%s'",
                        c->on_inconclusive);
    sw_err e = {{0}};
    if (sw_canary_plan_parse(c->steps, c->hold_ms, c->min_sessions, &k->plan, &e) < 0)
        return h->error(stage, "%s", e.msg);
    if (c->max_exposure > 0 &&
        sw_canary_exposure_check(&k->plan, c->monitor && *c->monitor, &e) < 0)
        return h->error(stage, "max_exposure %lld: %s", (long long)c->max_exposure, e.msg);
    if (c->baseline) {
        json_t *b = json_loads(c->baseline, JSON_DECODE_ANY, NULL);
        if (!b || !(json_is_null(b) || json_is_string(b))) {
            json_decref(b);
            return h->error(stage, "baseline: expected a release id or null, not %s", c->baseline);
        }
        k->has_baseline = 1;
        k->baseline_id = json_is_string(b) ? sw_xstrdup(json_string_value(b)) : NULL;
        json_decref(b);
    }
    if (c->approve && *c->approve) {
        sw_origin at = sw_gate_param_origin(h, stage, "approve");
        k->approve = sw_gate_compile(c->approve, &at, NULL, &e);
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
    free(k->baseline_id);
    free(k);
}

typedef struct run_state {
    sw_stage *stage;
    const canary_cfg *c;
    canary *k;
    sw_admin_client ac;
    char *route_path;
    int64_t steps_done;
    double weight;
    int64_t on_candidate;
    int64_t start_ms; /* wall clock: the window of the spend cap */
    int promoted;
    sw_canary_report report;
    char approval[160];  /* how promotion was approved, for the report */
    int router_away;     /* a router call is being retried: logged once */
    int report_failed;   /* a report write failed: logged once */
    int evidence_enough; /* the monitor said enough at some step */
    int inconclusive;    /* steps that went on without enough evidence */
    int owns_route;      /* the route's candidate is ours: another one there means a rival */
} run_state;

static int has_text(const char *s)
{
    return s && *s;
}

/* Rewrite the report section with what is known now; a failure to write it is
   logged once and never stops the rollout. */
static void report(run_state *r, const char *status, const char *text)
{
    const sw_host *h = sw_host_api;
    const char *dir = h->artifacts_dir(r->stage);
    sw_canary_summary s = {.steps_done = r->steps_done,
                           .steps_total = r->k->plan.n,
                           .weight = r->weight,
                           .promoted = r->promoted,
                           .sessions = r->on_candidate,
                           .approval = r->approval,
                           .status = status,
                           .text = text};
    sw_err e = {{0}};
    if (!dir)
        snprintf(e.msg, sizeof e.msg, "%s", h->last_error(r->stage));
    if ((!dir || sw_canary_report_write(&r->report, &s, dir, sw_wall_ms(), &e) != 0) &&
        !r->report_failed) {
        r->report_failed = 1;
        h->log(r->stage, SW_LOG_WARN, "report section: %s", e.msg);
    }
}

/* Whether the router answers at all: one GET of the route, no retries, so waiting for a
   router that is away logs nothing per attempt (the admin client logs its retries). */
static int router_answers(run_state *r)
{
    sw_admin_client once = r->ac; /* borrows the token: not finalized */
    once.retries = 0;
    once.timeout_ms = 2000;
    int status;
    char *text = NULL, err[256];
    int rc =
        sw_admin_client_call(&once, "GET", r->route_path, NULL, &status, &text, err, sizeof err);
    free(text);
    return rc == 0;
}

/* A router call; one that got no answer at all (connection refused, reset, timed out:
   a router restarting) is tried again for router_retry before it counts. */
static int router_call(run_state *r, const char *method, const char *path, const char *body,
                       json_t **out, int *http_status, char *msg, size_t msgsize)
{
    const sw_host *h = sw_host_api;
    double first = 0;
    for (;;) {
        int status = 0;
        int rc = sw_admin_client_json(&r->ac, method, path, body, out, &status, msg, msgsize);
        if (http_status)
            *http_status = status;
        if (rc == 0 || status != 0 || h->cancelled(r->stage)) {
            if (status != 0 && r->router_away) {
                r->router_away = 0;
                h->log(r->stage, SW_LOG_INFO, "the router answers again");
                sw_canary_report_event(&r->report, sw_wall_ms(), "info", "router back");
            }
            return rc;
        }
        if (first == 0)
            first = sw_now_ms();
        if (!r->router_away) {
            if (r->c->router_retry_ms <= 0)
                return rc;
            r->router_away = 1;
            h->log(r->stage, SW_LOG_WARN, "router unreachable (%s); trying again for up to %lld ms",
                   msg, (long long)r->c->router_retry_ms);
            sw_canary_report_event(&r->report, sw_wall_ms(), "warn", "router unreachable: %s", msg);
            report(r, "info", NULL);
        }
        /* Quietly until it answers again, then the call itself once more. */
        for (;;) {
            if (sw_now_ms() - first >= (double)r->c->router_retry_ms) {
                size_t n = strlen(msg);
                snprintf(msg + n, msgsize - n, " (no answer for router_retry, %lld ms)",
                         (long long)r->c->router_retry_ms);
                return rc;
            }
            if (h->wait(r->stage, 250))
                return rc;
            if (router_answers(r))
                break;
        }
    }
}

static sw_status get_route(run_state *r, json_t **route)
{
    char msg[1024];
    if (router_call(r, "GET", r->route_path, NULL, route, NULL, msg, sizeof msg))
        return sw_host_api->error(r->stage, "%s", msg);
    json_t *n = json_object_get(json_object_get(json_object_get(*route, "pins"), "by_version"),
                                r->c->candidate);
    if (json_is_integer(n))
        r->on_candidate = json_integer_value(n);
    return SW_OK;
}

/* Whether the route still carries this canary's candidate (or has promoted it). */
static int route_is_ours(const run_state *r, const json_t *route)
{
    const char *cand = json_string_value(json_object_get(route, "candidate"));
    const char *stable = json_string_value(json_object_get(route, "stable"));
    return (cand && strcmp(cand, r->c->candidate) == 0) ||
           (stable && strcmp(stable, r->c->candidate) == 0);
}

/* Another run (or a human) put another candidate on the route since this canary did:
   going on would undo its change, so the canary stops. */
static sw_status rival_error(const run_state *r, const json_t *route)
{
    const char *cand = json_string_value(json_object_get(route, "candidate"));
    return sw_host_api->error(r->stage,
                              "the route of '%s' changed under the canary: candidate '%s', not "
                              "'%s' (another rollout took the route; this one stops)",
                              r->c->agent, cand ? cand : "(none)", r->c->candidate);
}

/* A route change the router refuses for now (503: with a shared store, its state database is
   unreachable, so no replica can commit a change) is tried again every 250 ms for up to
   router_retry, as a router that does not answer is: a short database outage holds the step
   at its weight (traffic keeps flowing on the route in use); it does not fail the rollout.
   Returns 1 to try again, 0 when the time is up or the stage is cancelled. */
static int refused_wait(run_state *r, double *since, const char *msg)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    if (c->router_retry_ms <= 0 || h->cancelled(r->stage))
        return 0;
    if (*since == 0) {
        *since = sw_now_ms();
        h->log(r->stage, SW_LOG_WARN,
               "the router refuses route changes for now (%s); trying again for up to %lld ms", msg,
               (long long)c->router_retry_ms);
        sw_canary_report_event(&r->report, sw_wall_ms(), "warn", "route changes refused: %s", msg);
        report(r, "info", NULL);
    }
    if (sw_now_ms() - *since >= (double)c->router_retry_ms)
        return 0;
    return !h->wait(r->stage, 250);
}

/* PUT a patch of the route, compare-and-swap on its version; on a conflict read
   it again and retry, as long as the candidate is still ours. A PUT whose answer
   was lost to a router restart conflicts with itself when tried again, and is
   then simply applied once more (the same values). */
static sw_status put_route(run_state *r, json_t *patch)
{
    const sw_host *h = sw_host_api;
    double refused_since = 0;
    for (int attempt = 0; attempt < 5;) {
        json_t *route = NULL;
        if (get_route(r, &route) != SW_OK) {
            json_decref(patch);
            return SW_ERROR;
        }
        if ((attempt > 0 || r->owns_route) && !route_is_ours(r, route)) {
            sw_status st = rival_error(r, route);
            json_decref(route);
            json_decref(patch);
            return st;
        }
        json_object_set(patch, "version", json_object_get(route, "version"));
        json_decref(route);
        char *body = json_dumps(patch, JSON_COMPACT);
        char msg[1024];
        int status = 0;
        json_t *res = NULL;
        int rc = router_call(r, "PUT", r->route_path, body, &res, &status, msg, sizeof msg);
        free(body);
        if (rc == 0) {
            if (refused_since != 0) {
                h->log(r->stage, SW_LOG_INFO,
                       "the router takes route changes again (after %.0f ms)",
                       sw_now_ms() - refused_since);
                sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                       "route changes accepted again");
            }
            json_decref(res);
            json_decref(patch);
            r->owns_route = 1;
            return SW_OK;
        }
        if (status == 503) {
            if (refused_wait(r, &refused_since, msg))
                continue;
            json_decref(patch);
            if (refused_since != 0 && !h->cancelled(r->stage))
                return h->error(r->stage, "%s (route changes refused for router_retry, %lld ms)",
                                msg, (long long)r->c->router_retry_ms);
            return h->error(r->stage, "%s", msg);
        }
        if (status != 409) {
            json_decref(patch);
            return h->error(r->stage, "%s", msg);
        }
        attempt++;
        h->log(r->stage, SW_LOG_WARN, "route changed meanwhile; reading it again");
    }
    json_decref(patch);
    return h->error(r->stage, "the route of '%s' kept changing: gave up after 5 attempts",
                    r->c->agent);
}

/* The monitor's signals, read each time (the monitor updates them as it runs):
   -1 when it has not written them (yet), or when they are of another type. */
static int monitor_hold(run_state *r)
{
    const sw_host *h = sw_host_api;
    char *key = sw_xasprintf("%s.hold", r->c->monitor);
    int v = -1;
    if (h->type_of(r->stage, key) == SW_TYPE_BOOL && h->get_bool(r->stage, key, &v) != SW_OK)
        v = -1;
    free(key);
    return v;
}

static int64_t monitor_extend(run_state *r)
{
    const sw_host *h = sw_host_api;
    if (!has_text(r->c->monitor))
        return -1;
    char *key = sw_xasprintf("%s.extend_ms", r->c->monitor);
    int64_t v = -1;
    if (h->type_of(r->stage, key) == SW_TYPE_INT && h->get_int(r->stage, key, &v) != SW_OK)
        v = -1;
    free(key);
    return v;
}

/* Before the weight goes up (or the candidate is promoted): wait while the monitor
   holds, up to hold_max. */
static sw_status wait_monitor(run_state *r, const char *before)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    if (!has_text(c->monitor))
        return SW_OK;
    double first = sw_now_ms();
    int waiting = 0;
    for (;;) {
        int64_t waited = (int64_t)(sw_now_ms() - first);
        switch (sw_canary_hold_decide(monitor_hold(r), waited, c->hold_max_ms)) {
        case SW_CANARY_GO:
            if (waiting) {
                h->log(r->stage, SW_LOG_INFO, "monitor '%s' released the hold; going on to %s",
                       c->monitor, before);
                sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                       "monitor '%s' released the hold", c->monitor);
            }
            return SW_OK;
        case SW_CANARY_GIVE_UP:
            return h->fail(r->stage,
                           "monitor '%s' held the canary at %g%% for %lld ms (hold_max) before %s",
                           c->monitor, r->weight, (long long)waited, before);
        case SW_CANARY_WAIT:
            if (!waiting) {
                waiting = 1;
                h->log(r->stage, SW_LOG_INFO,
                       "monitor '%s' holds the canary at %g%%: waiting (at most %lld ms) before %s",
                       c->monitor, r->weight, (long long)c->hold_max_ms, before);
                sw_canary_report_event(&r->report, sw_wall_ms(), "warn",
                                       "monitor '%s' holds at %g%%", c->monitor, r->weight);
                report(r, "info", NULL);
            }
            break;
        }
        if (h->wait(r->stage, 250))
            return h->error(r->stage, "cancelled while monitor '%s' held the canary at %g%%",
                            c->monitor, r->weight);
    }
}

/* A step's hold, lengthened by what the monitor asks for meanwhile (the growth of its
   extend_ms since the step began, at most hold_max). Sliced when there is a monitor so
   its requests are seen during the hold. */
static sw_status hold(run_state *r, const sw_canary_step *s, int64_t extend_at_start)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    int64_t held = 0, shown = 0;
    for (;;) {
        int64_t ext = sw_canary_extension(extend_at_start, monitor_extend(r));
        if (ext > c->hold_max_ms)
            ext = c->hold_max_ms;
        if (ext > shown) {
            h->log(r->stage, SW_LOG_INFO,
                   "monitor '%s' asks for %lld ms more: the hold at %g%% is now %lld ms",
                   c->monitor, (long long)ext, r->weight, (long long)(s->hold_ms + ext));
            sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                   "hold at %g%% extended by %lld ms (monitor '%s')", r->weight,
                                   (long long)(ext - shown), c->monitor);
            shown = ext;
        }
        int64_t left = sw_canary_hold_left(s->hold_ms, held, ext, c->hold_max_ms);
        if (left <= 0)
            return SW_OK;
        int64_t slice = has_text(c->monitor) && left > 250 ? 250 : left;
        if (h->wait(r->stage, slice))
            return h->error(r->stage, "cancelled during the hold at %g%%", r->weight);
        held += slice;
    }
}

/* The monitor's <id>.evidence (malloc'd), NULL when absent or not a string. */
static char *monitor_evidence(run_state *r)
{
    const sw_host *h = sw_host_api;
    if (!has_text(r->c->monitor))
        return NULL;
    char *key = sw_xasprintf("%s.evidence", r->c->monitor);
    const char *v = NULL;
    if (h->type_of(r->stage, key) != SW_TYPE_STRING || h->get_string(r->stage, key, &v) != SW_OK)
        v = NULL;
    free(key);
    return v ? sw_xstrdup(v) : NULL;
}

/* The sentence of every guarded metric in <id>.evidence_detail (evidence.h's "line"): to the
   log and, with status (enough metrics) or warn (the others), to the report. */
static void evidence_lines(run_state *r, const char *status)
{
    const sw_host *h = sw_host_api;
    char *key = sw_xasprintf("%s.evidence_detail", r->c->monitor);
    const char *text = NULL;
    if (h->type_of(r->stage, key) != SW_TYPE_JSON || h->get_json(r->stage, key, &text) != SW_OK)
        text = NULL;
    free(key);
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    const char *metric;
    json_t *e;
    json_object_foreach(d, metric, e)
    {
        const char *line = json_string_value(json_object_get(e, "line"));
        if (!line)
            continue;
        int enough = json_is_true(json_object_get(e, "enough"));
        h->log(r->stage, enough ? SW_LOG_INFO : SW_LOG_WARN, "%s", line);
        sw_canary_report_event(&r->report, sw_wall_ms(), enough ? status : "warn", "%s", line);
    }
    json_decref(d);
}

/* A step with no evidence after its evidence_wait, by on_inconclusive. */
static sw_status inconclusive(run_state *r, int64_t waited);
static double candidate_stat(run_state *r, const char *name);

/* max_exposure, while the monitor's evidence is insufficient: the sessions that saw the
   candidate since the stage began, against the cap. At the cap the stage fails, naming the
   guarded metric that needs the most candidate samples still and about how many sessions
   that is at the candidate's samples per session so far. */
static sw_status exposure_check(run_state *r)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    double seen = candidate_stat(r, "sessions");
    if (c->max_exposure <= 0 || seen < (double)c->max_exposure)
        return SW_OK;
    char *key = sw_xasprintf("%s.evidence_detail", c->monitor);
    const char *text = NULL;
    if (h->type_of(r->stage, key) != SW_TYPE_JSON || h->get_json(r->stage, key, &text) != SW_OK)
        text = NULL;
    free(key);
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    const char *metric, *worst = NULL;
    json_t *e;
    double need = 0, have = 0;
    json_object_foreach(d, metric, e)
    {
        if (json_is_true(json_object_get(e, "enough")))
            continue;
        /* The candidate's samples needed beside the baseline's so far; when those are too few
           for any number of candidate samples, the equal-arms size. */
        const json_t *x = json_object_get(e, "required_candidate");
        if (!json_is_number(x))
            x = json_object_get(e, "required");
        double req = json_is_number(x) ? json_number_value(x) : INFINITY;
        if (!worst || req > need) {
            worst = metric;
            need = req;
            have = json_number_value(json_object_get(e, "n_candidate"));
        }
    }
    char what[256] = "";
    if (worst && isfinite(need) && have > 0)
        snprintf(what, sizeof what,
                 ": %s needs about %.0f candidate samples (has %.0f), about %.0f sessions at "
                 "this traffic",
                 worst, need, have, ceil(need * seen / have));
    else if (worst)
        snprintf(what, sizeof what, ": %s has no sample size yet", worst);
    json_decref(d);
    return h->fail(r->stage,
                   "exposure cap: %.0f sessions saw the candidate (max_exposure %lld) before "
                   "monitor '%s' had the evidence to detect its min_effect%s; stopped at %g%%",
                   seen, (long long)c->max_exposure, c->monitor, what, r->weight);
}

/* After a step's hold: wait, from the step's start, until the monitor has enough evidence on
   every guarded metric, up to the step's evidence_wait. */
static sw_status wait_evidence(run_state *r, const sw_canary_step *s, double step_start)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    int64_t wait_max = s->evidence_wait_ms >= 0 ? s->evidence_wait_ms : c->evidence_wait_ms;
    int waiting = 0;
    for (;;) {
        char *ev = monitor_evidence(r);
        int64_t waited = (int64_t)(sw_now_ms() - step_start);
        sw_canary_evidence_action a = sw_canary_evidence_decide(ev, waited, wait_max);
        if (a == SW_CANARY_EVIDENCE_GO && ev && strcmp(ev, "enough") == 0) {
            r->evidence_enough = 1;
            if (waiting) {
                h->log(r->stage, SW_LOG_INFO, "monitor '%s' has enough evidence at %g%%",
                       c->monitor, r->weight);
                sw_canary_report_event(&r->report, sw_wall_ms(), "pass",
                                       "monitor '%s' has enough evidence at %g%%", c->monitor,
                                       r->weight);
            }
        }
        free(ev);
        if (a == SW_CANARY_EVIDENCE_GO)
            return SW_OK;
        /* At every poll: the cap is a count of people, and the traffic may be fast. */
        if (c->max_exposure > 0) {
            sw_status x = exposure_check(r);
            if (x != SW_OK)
                return x;
        }
        if (a == SW_CANARY_EVIDENCE_INCONCLUSIVE)
            return inconclusive(r, waited);
        if (!waiting) {
            waiting = 1;
            h->log(r->stage, SW_LOG_INFO,
                   "waiting at %g%% for monitor '%s' to have enough evidence (at most %lld ms "
                   "from the step's start)",
                   r->weight, c->monitor, (long long)wait_max);
            sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                   "waiting at %g%% for the monitor's evidence (evidence_wait "
                                   "%lld ms)",
                                   r->weight, (long long)wait_max);
            report(r, "info", NULL);
        }
        if (h->wait(r->stage, 250))
            return h->error(r->stage, "cancelled waiting for the monitor's evidence at %g%%",
                            r->weight);
    }
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
        if (waited == 0) {
            sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                   "waiting for min_sessions: %lld of %lld on the candidate",
                                   (long long)r->on_candidate, (long long)need);
            report(r, "info", NULL);
        }
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

/* One of the candidate's figures since the stage began (cost, sessions), from the router's
   stats; -1 when unknown. */
static double candidate_stat(run_state *r, const char *name)
{
    char *path =
        sw_xasprintf("/admin/stats?agent=%s&since=%lld", r->c->agent, (long long)r->start_ms);
    json_t *st = NULL;
    char msg[1024];
    int rc = router_call(r, "GET", path, NULL, &st, NULL, msg, sizeof msg);
    free(path);
    if (rc) {
        sw_host_api->log(r->stage, SW_LOG_WARN, "%s", msg);
        return -1;
    }
    const json_t *v = json_object_get(json_object_get(st, "versions"), r->c->candidate);
    const json_t *x = json_object_get(v, name);
    double value = json_is_number(x) ? json_number_value(x) : v ? 0 : -1;
    json_decref(st);
    return value;
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
        double cost = c->max_candidate_cost > 0 ? candidate_stat(r, "cost") : 0;
        int over_s = c->max_candidate_sessions > 0 && r->on_candidate >= c->max_candidate_sessions;
        int over_c = c->max_candidate_cost > 0 && cost >= c->max_candidate_cost;
        if (!over_s && !over_c)
            return SW_OK;
        if (waited == 0) {
            sw_canary_report_event(&r->report, sw_wall_ms(), "warn",
                                   "exposure cap at %g%%: %s; waiting for it to clear", r->weight,
                                   over_s ? "sessions" : "cost");
            report(r, "info", NULL);
        }
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

/* Poll approve_url until it approves, rejects, or approve_timeout passes. Each distinct
   reason to keep waiting is logged once. */
static sw_status approve_by_url(run_state *r)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    char *token = NULL;
    if (has_text(c->approve_token_file)) {
        sw_err e = {{0}};
        token = sw_read_file(c->approve_token_file, 4096, NULL, &e);
        if (!token)
            return h->error(r->stage, "approve_token_file: %s", e.msg);
        size_t n = strlen(token);
        while (n && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
            token[--n] = '\0';
    }
    char *auth = token ? sw_xasprintf("Authorization: Bearer %s", token) : NULL;
    free(token);
    const char *headers[3] = {"Accept: application/json", auth, NULL};
    h->log(r->stage, SW_LOG_INFO, "waiting for approval from %s", c->approve_url);
    sw_canary_report_event(&r->report, sw_wall_ms(), "info", "waiting for approval (URL)");
    report(r, "info", NULL);
    double first = sw_now_ms();
    char *last = NULL;
    sw_status st;
    for (;;) {
        sw_http_request rq = {SW_ABI_INIT(sw_http_request), .method = "GET", .url = c->approve_url,
                              .headers = headers, .timeout_ms = 10000};
        sw_http_response rs = {SW_ABI_INIT(sw_http_response)};
        char *why = NULL;
        sw_canary_approval a;
        if (h->http(r->stage, &rq, &rs) != SW_OK) {
            if (h->cancelled(r->stage)) {
                st = h->error(r->stage, "cancelled waiting for approval from %s", c->approve_url);
                break;
            }
            a = SW_CANARY_PENDING;
            why = sw_xstrdup(h->last_error(r->stage));
        } else {
            a = sw_canary_approval_read(rs.status, rs.body, rs.body_len, &why);
            h->http_response_free(r->stage, &rs);
        }
        if (a == SW_CANARY_APPROVED) {
            h->log(r->stage, SW_LOG_INFO, "approved by %s", c->approve_url);
            free(why);
            st = SW_OK;
            break;
        }
        if (a == SW_CANARY_REJECTED) {
            st =
                h->fail(r->stage, "approve_url %s rejected the promotion: %s", c->approve_url, why);
            free(why);
            break;
        }
        if (a == SW_CANARY_BAD) {
            st = h->error(r->stage, "approve_url %s: %s", c->approve_url, why);
            free(why);
            break;
        }
        if (!last || strcmp(last, why) != 0) {
            h->log(r->stage, SW_LOG_WARN, "approve_url %s: %s; waiting", c->approve_url, why);
            free(last);
            last = why;
        } else {
            free(why);
        }
        int64_t waited = (int64_t)(sw_now_ms() - first);
        if (waited >= c->approve_timeout_ms) {
            st = h->fail(r->stage, "no approval from %s within %lld ms (last: %s)", c->approve_url,
                         (long long)c->approve_timeout_ms, last);
            break;
        }
        if (h->wait(r->stage, c->approve_interval_ms)) {
            st = h->error(r->stage, "cancelled waiting for approval from %s", c->approve_url);
            break;
        }
    }
    free(last);
    free(auth);
    return st;
}

static void approval_add(run_state *r, const char *how)
{
    size_t n = strlen(r->approval);
    snprintf(r->approval + n, sizeof r->approval - n, "%s%s", n ? " + " : "", how);
}

static sw_status approve_human(run_state *r, int *asked);

static sw_status approve(run_state *r, canary *k)
{
    const sw_host *h = sw_host_api;
    r->approval[0] = '\0';
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
            sw_canary_report_event(&r->report, sw_wall_ms(), "fail", "approve: %s",
                                   reason ? reason : "not approved");
            sw_status st = h->fail(r->stage, "approve: %s", reason ? reason : "not approved");
            free(reason);
            return st;
        }
        free(reason);
        approval_add(r, "Lua condition");
    }
    sw_status st = approve_human(r, NULL);
    if (st != SW_OK)
        return st;
    if (!r->approval[0])
        approval_add(r, "none required");
    sw_canary_report_event(&r->report, sw_wall_ms(), "pass", "approved (%s)", r->approval);
    return SW_OK;
}

/* A human's approval: approve_file, then approve_url, each when set. *asked (may be NULL)
   tells whether either is. */
static sw_status approve_human(run_state *r, int *asked)
{
    const sw_host *h = sw_host_api;
    if (asked)
        *asked = has_text(r->c->approve_file) || has_text(r->c->approve_url);
    if (has_text(r->c->approve_file)) {
        h->log(r->stage, SW_LOG_INFO, "waiting for the approval file %s", r->c->approve_file);
        sw_canary_report_event(&r->report, sw_wall_ms(), "info", "waiting for approval (file)");
        report(r, "info", NULL);
        int64_t waited = 0;
        while (access(r->c->approve_file, F_OK) != 0) {
            if (waited >= r->c->approve_timeout_ms)
                return h->fail(r->stage, "no approval (%s) within %lld ms", r->c->approve_file,
                               (long long)r->c->approve_timeout_ms);
            if (h->wait(r->stage, 250))
                return h->error(r->stage, "cancelled waiting for approval");
            waited += 250;
        }
        approval_add(r, "file");
    }
    if (has_text(r->c->approve_url)) {
        sw_status st = approve_by_url(r);
        if (st != SW_OK)
            return st;
        approval_add(r, "URL");
    }
    return SW_OK;
}

static sw_status inconclusive(run_state *r, int64_t waited)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = r->c;
    char why[256];
    snprintf(why, sizeof why,
             "inconclusive at %g%%: after %lld ms monitor '%s' has not enough evidence to have "
             "seen the regressions it guards against",
             r->weight, (long long)waited, c->monitor);
    h->log(r->stage, SW_LOG_WARN, "%s (on_inconclusive: %s)", why, c->on_inconclusive);
    sw_canary_report_event(&r->report, sw_wall_ms(), "warn", "%s (on_inconclusive: %s)", why,
                           c->on_inconclusive);
    evidence_lines(r, "warn");
    switch (r->k->on_inconclusive) {
    case SW_CANARY_INCONCLUSIVE_ROLLBACK:
        return h->fail(r->stage, "%s; on_inconclusive is rollback", why);
    case SW_CANARY_INCONCLUSIVE_PROMOTE:
        r->inconclusive++;
        h->log(r->stage, SW_LOG_WARN,
               "going on at %g%% without enough evidence (on_inconclusive: promote)", r->weight);
        report(r, "warn", NULL);
        return SW_OK;
    case SW_CANARY_INCONCLUSIVE_HOLD:
        break;
    }
    int asked = 0;
    r->approval[0] = '\0';
    sw_status st = approve_human(r, &asked);
    if (st != SW_OK)
        return st;
    if (!asked)
        return h->fail(r->stage,
                       "%s; on_inconclusive is hold, but neither approve_file nor approve_url is "
                       "set for a human to release it",
                       why);
    r->inconclusive++;
    h->log(r->stage, SW_LOG_WARN, "released at %g%% without enough evidence by a human (%s)",
           r->weight, r->approval);
    sw_canary_report_event(&r->report, sw_wall_ms(), "warn",
                           "released without enough evidence (%s)", r->approval);
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
    if (!route_is_ours(r, route))
        return rival_error(r, route);
    sw_store_error e = {0};
    sw_store *s = sw_store_open(h->store(r->stage), &e);
    if (!s)
        return h->error(r->stage, "%s", e.message);
    char *id = store_release(r->stage, c, s);
    sw_status st = SW_OK;
    if (id) {
        char *stable = NULL, *cand = NULL;
        char *why = sw_xasprintf("canary stage '%s': promoted after %lld steps",
                                 h->stage_id(r->stage), (long long)r->steps_done);
        sw_change_info info = {.reason = why, .run_id = h->run_id(r->stage)};
        /* Against the stable the candidate was judged against, when the pipeline says
           which: a run that promoted another release meanwhile wins, this one stops.
           Already stable (a resumed promotion) needs no change. */
        if (sw_store_channel(s, c->agent, "stable", &stable, &e) != SW_STORE_OK ||
            sw_store_channel(s, c->agent, "candidate", &cand, &e) != SW_STORE_OK ||
            (!(stable && strcmp(stable, id) == 0) &&
             sw_store_set_channel(s, c->agent, "stable", id,
                                  r->k->has_baseline ? r->k->baseline_id : stable, &info,
                                  &e) != SW_STORE_OK) ||
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

static void promoted(run_state *r)
{
    int64_t now = sw_wall_ms();
    r->promoted = 1;
    r->weight = 100;
    sw_canary_report_weight(&r->report, now, 100, 0);
    sw_canary_report_mark(&r->report, now, "promoted");
    sw_canary_report_event(&r->report, now, "pass", "promoted %s", r->c->candidate);
}

static sw_status set_outputs(run_state *r, int is_promoted)
{
    const sw_host *h = sw_host_api;
    if (h->set_int(r->stage, "steps_done", r->steps_done) != SW_OK ||
        h->set_double(r->stage, "final_weight", r->weight) != SW_OK ||
        h->set_bool(r->stage, "promoted", is_promoted) != SW_OK ||
        h->set_int(r->stage, "sessions_on_candidate", r->on_candidate) != SW_OK ||
        h->set_string(r->stage, "evidence",
                      r->inconclusive      ? "inconclusive"
                      : r->evidence_enough ? "enough"
                                           : "none") != SW_OK)
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
        sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                               "the router already serves %s as stable", c->candidate);
        sw_status st = promote(r, route);
        json_decref(route);
        if (st == SW_OK)
            promoted(r);
        return st == SW_OK ? set_outputs(r, 1) : st;
    }
    if (rcand && strcmp(rcand, c->candidate) == 0) {
        r->owns_route = 1;
        double cur = json_number_value(json_object_get(route, "weight"));
        first = sw_canary_resume_index(&k->plan, cur);
        if (first > 0) {
            h->log(r->stage, SW_LOG_INFO, "resuming at step %zu: the route already sends %g%%",
                   first + 1, cur);
            sw_canary_report_event(&r->report, sw_wall_ms(), "info",
                                   "resuming at step %zu (the route sends %g%%)", first + 1, cur);
        }
        r->steps_done = (int64_t)first;
        r->weight = cur;
        const json_t *sh = json_object_get(route, "shadow");
        sw_canary_report_weight(&r->report, sw_wall_ms(), cur,
                                json_number_value(json_object_get(sh, "percent")));
    } else {
        if (rcand && json_number_value(json_object_get(route, "weight")) > 0)
            h->log(r->stage, SW_LOG_WARN, "replacing the route's candidate %s (at %g%%) with %s",
                   rcand, json_number_value(json_object_get(route, "weight")), c->candidate);
        sw_canary_report_weight(&r->report, sw_wall_ms(), 0, 0);
    }
    json_decref(route);
    report(r, "info", NULL);
    for (size_t i = first; i < k->plan.n; i++) {
        const sw_canary_step *s = &k->plan.steps[i];
        char before[64];
        snprintf(before, sizeof before, "step %zu (%g%%)", i + 1, s->weight);
        if (s->weight > r->weight) {
            sw_status held = wait_monitor(r, before);
            if (held != SW_OK)
                return held;
        }
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
        double step_start = sw_now_ms();
        int64_t extend_at_start = monitor_extend(r);
        r->weight = s->weight;
        char note[96];
        snprintf(note, sizeof note, "step %zu/%zu: %g%%%s", i + 1, k->plan.n, s->weight,
                 s->shadow > 0 ? " (shadow)" : "");
        h->progress(r->stage, (double)i / (double)k->plan.n, note);
        h->log(r->stage, SW_LOG_INFO, "%s, holding %lld ms", note, (long long)s->hold_ms);
        int64_t now = sw_wall_ms();
        sw_canary_report_weight(&r->report, now, s->weight, s->shadow);
        char shadow[48] = "";
        if (s->shadow > 0)
            snprintf(shadow, sizeof shadow, ", shadow %g%%", s->shadow);
        sw_canary_report_event(&r->report, now, "info", "step %zu/%zu: %g%%%s, hold %lld ms", i + 1,
                               k->plan.n, s->weight, shadow, (long long)s->hold_ms);
        report(r, "info", NULL);
        if (hold(r, s, extend_at_start) != SW_OK)
            return SW_ERROR;
        if (s->min_sessions > 0) {
            sw_status st = wait_sessions(r, s->min_sessions);
            if (st != SW_OK)
                return st;
        }
        /* The candidate's own traffic is the evidence: a shadow-only step has none. */
        if (s->weight > 0) {
            sw_status st = wait_evidence(r, s, step_start);
            if (st != SW_OK)
                return st;
        }
        r->steps_done = (int64_t)i + 1;
        report(r, "info", NULL);
    }
    if (get_route(r, &route) != SW_OK)
        return SW_ERROR;
    int is_promoted = 0;
    if (c->promote && r->weight >= 100) {
        sw_status st = wait_monitor(r, "promotion");
        if (st == SW_OK)
            st = approve(r, k);
        if (st == SW_OK) {
            /* The route may have moved while waiting for a human. */
            json_decref(route);
            route = NULL;
            st = get_route(r, &route);
        }
        if (st == SW_OK)
            st = promote(r, route);
        if (st != SW_OK) {
            json_decref(route);
            set_outputs(r, 0);
            return st;
        }
        is_promoted = 1;
        promoted(r);
        if (has_text(c->monitor))
            evidence_lines(r, "pass"); /* what the canary could have seen, and what it saw */
        if (r->inconclusive)
            h->log(r->stage, SW_LOG_WARN,
                   "promoted without enough evidence at %d step(s) (on_inconclusive: %s)",
                   r->inconclusive, c->on_inconclusive);
    } else if (!c->promote) {
        snprintf(r->approval, sizeof r->approval, "not asked (promote: false)");
    }
    json_decref(route);
    h->progress(r->stage, 1.0, is_promoted ? "promoted" : NULL);
    return set_outputs(r, is_promoted);
}

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const canary_cfg *c = config;
    canary *k = h->data(stage);
    run_state r = {.stage = stage, .c = c, .k = k, .start_ms = sw_wall_ms()};
    snprintf(r.approval, sizeof r.approval, "%s", c->promote ? "not reached" : "not asked");
    sw_canary_report_init(&r.report);
    sw_status st = sw_admin_client_init(&r.ac, stage, c->router, c->token_file);
    if (st == SW_OK) {
        r.route_path = sw_xasprintf("/admin/agents/%s/route", c->agent);
        st = ramp(&r, k);
        free(r.route_path);
        sw_admin_client_fini(&r.ac);
    }
    int64_t now = sw_wall_ms();
    if (st == SW_OK && r.inconclusive) {
        char *text = sw_xasprintf("The candidate %s without enough evidence at %d step(s) "
                                  "(on_inconclusive: %s).",
                                  r.promoted ? "was promoted" : "went on", r.inconclusive,
                                  c->on_inconclusive);
        report(&r, "warn", text);
        free(text);
    } else if (st == SW_OK) {
        report(&r, "pass", r.promoted ? "The candidate was promoted." : NULL);
    } else {
        int cancelled = h->cancelled(stage);
        const char *why = h->last_error(stage);
        sw_canary_report_mark(&r.report, now, cancelled ? "cancelled" : "stopped");
        sw_canary_report_event(&r.report, now, cancelled ? "warn" : "fail", "%s at %g%%: %s",
                               cancelled ? "cancelled" : "stopped", r.weight, why);
        report(&r, "fail", why);
    }
    sw_canary_report_free(&r.report);
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
