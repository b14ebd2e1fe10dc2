/*
 * monitor.c - the `monitor` stage, usually `background: true`: every interval
 * it measures the candidate and the baseline over the same window (since the
 * monitor started) from a source (source.h: the router's stats or Prometheus,
 * and the router's shadow pairs for the disagreement metrics), judges each
 * metric (judge.h), evaluates `rollback_when:` over the snapshot, and applies
 * each metric's policy for its outcome (policy.h): a breach fails the stage
 * with a reason naming the metric, both values, the test, its p-value or
 * interval and level, and the threshold, so the runner stops the canary and
 * runs on_failure; `hold` and `extend` are signalled to the canary through the
 * outputs `hold` and `extend_ms`, kept up to date from the start. After every
 * look the report section is rewritten (report.h). Cancelled because the run
 * ended, it returns SW_OK with its last snapshot.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../rollback/admin_client.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "judge.h"
#include "lua/gate.h"
#include "model/context.h"
#include "model/value.h"
#include "policy.h"
#include "prom.h"
#include "report.h"
#include "slipway/plugin.h"
#include "source.h"

/* Pairs read per look: the router keeps 10,000 by default (shadow.keep). */
#define PAIRS_LIMIT 10000

/* What a pipeline that says nothing watches: what a release must not make worse. */
#define DEFAULT_METRICS                                                                            \
    "[\"task_failure_rate\", \"tool_error_rate\", \"error_rate\", \"cost_per_session\", "          \
    "\"latency_p95\", \"ttft_p95\"]"
/* And the regressions it must have had the samples to see (evidence.h). TTFT exists only
   for streamed answers, so it is judged but not required; cost per session has the rank
   test on the router's per-session samples, but how many sessions a change needs depends
   on how widely an agent's sessions vary: a pipeline declares it (pipelines/release.yaml). */
#define DEFAULT_MIN_EFFECT                                                                         \
    "{\"task_failure_rate\": 0.03, \"tool_error_rate\": 0.03, \"error_rate\": 0.02, "              \
    "\"latency_p95\": 0.5}"

/* The evidence_detail output is journaled when it changes, but not more often than this
   (unless the overall evidence changes): one event per look would flood the journal. */
#define EVIDENCE_SET_EVERY_MS 5000

typedef struct monitor_cfg {
    const char *router;
    const char *routers;
    const char *token_file;
    const char *agent;
    const char *candidate;
    const char *baseline;
    const char *source;
    const char *prometheus;
    const char *queries;
    int64_t interval_ms;
    int64_t duration_ms;
    int64_t min_samples;
    int64_t latency_samples;
    double alpha;
    double power;
    const char *min_effect;
    const char *spending;
    int64_t max_looks;
    const char *metrics;
    const char *thresholds;
    const char *rollback_when;
    const char *on_fail;
    const char *on_inconclusive;
    int64_t max_extend_ms;
} monitor_cfg;

static const sw_param params[] = {
    {"router", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, router),
     "the router's base URL (needed by source router, the shadow pair metrics and a default "
     "baseline)"},
    {"routers", SW_TYPE_JSON, 0, "[]", offsetof(monitor_cfg, routers),
     "router replicas' base URLs (source router): their stats are summed per version, their "
     "latency and per-session samples merged, their shadow pairs counted together; default "
     "[router]"},
    {"token_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(monitor_cfg, token_file),
     "a file holding the router's admin token"},
    {"agent", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(monitor_cfg, agent), "the agent"},
    {"candidate", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(monitor_cfg, candidate),
     "the candidate's router version"},
    {"baseline", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, baseline),
     "the baseline's router version; default: the route's stable"},
    {"source", SW_TYPE_STRING, 0, "router", offsetof(monitor_cfg, source),
     "where the metrics come from: router (its /admin/stats) or prometheus"},
    {"prometheus", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, prometheus),
     "Prometheus' base URL, for source prometheus"},
    {"queries", SW_TYPE_JSON, 0, "{}", offsetof(monitor_cfg, queries),
     "metric -> PromQL (or {value, samples}) with {{agent}}, {{version}}, {{window}}"},
    {"interval", SW_TYPE_INT, SW_PARAM_DURATION, "10s", offsetof(monitor_cfg, interval_ms),
     "time between looks"},
    {"duration", SW_TYPE_INT, SW_PARAM_DURATION, "0", offsetof(monitor_cfg, duration_ms),
     "stop after this long (plus extend_ms) with the verdict (0: until the run ends)"},
    {"min_samples", SW_TYPE_INT, 0, "30", offsetof(monitor_cfg, min_samples),
     "samples each side needs before a metric is judged"},
    {"latency_samples", SW_TYPE_INT, 0, "1000", offsetof(monitor_cfg, latency_samples),
     "raw latencies asked of the router per version for the rank test (0: quantiles only; at "
     "most 2000)"},
    {"alpha", SW_TYPE_DOUBLE, 0, "0.05", offsetof(monitor_cfg, alpha),
     "the false-alarm rate over all looks of a metric"},
    {"power", SW_TYPE_DOUBLE, 0, "0.8", offsetof(monitor_cfg, power),
     "the chance a guarded metric's test must have to see its min_effect before there is "
     "enough evidence"},
    {"min_effect", SW_TYPE_JSON, 0, DEFAULT_MIN_EFFECT, offsetof(monitor_cfg, min_effect),
     "metric -> the smallest regression not to miss (rates: absolute, 0.03 = +3 points; latency "
     "and TTFT: relative, 0.5 = +50%); the judged metrics named are guarded (null: not)"},
    {"spending", SW_TYPE_STRING, 0, "obrien-fleming", offsetof(monitor_cfg, spending),
     "how alpha is spent over the looks: obrien-fleming or bonferroni"},
    {"max_looks", SW_TYPE_INT, 0, "20", offsetof(monitor_cfg, max_looks),
     "planned looks with enough samples; later ones share what is left of alpha"},
    {"metrics", SW_TYPE_JSON, 0, DEFAULT_METRICS, offsetof(monitor_cfg, metrics),
     "metrics judged by their test"},
    {"thresholds", SW_TYPE_JSON, 0, "{}", offsetof(monitor_cfg, thresholds),
     "metric -> {max, max_increase, max_relative_increase, dry_run, on_fail, on_inconclusive}"},
    {"rollback_when", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, rollback_when),
     "a Lua condition over m.candidate.*, m.baseline.*, m.verdicts.*, m.look: true rolls back"},
    {"on_fail", SW_TYPE_STRING, 0, "rollback", offsetof(monitor_cfg, on_fail),
     "a metric's fail: rollback (abort the run), hold, extend or continue (report only)"},
    {"on_inconclusive", SW_TYPE_STRING, 0, "continue", offsetof(monitor_cfg, on_inconclusive),
     "a metric's inconclusive: continue, hold, extend, or rollback (when duration ends)"},
    {"max_extend", SW_TYPE_INT, SW_PARAM_DURATION, "5m", offsetof(monitor_cfg, max_extend_ms),
     "the most extra observation time extend policies may ask for"},
    {NULL, 0, 0, NULL, 0, NULL}};

static const sw_port inputs[] = {{NULL, 0, 0, NULL}};
static const sw_port outputs[] = {
    {"verdict", SW_TYPE_STRING, 0, "pass, fail or inconclusive"},
    {"reasons", SW_TYPE_JSON, 0, "one sentence per metric (and the Lua condition's)"},
    {"samples", SW_TYPE_JSON, 0, "{candidate, baseline, looks, window_ms}"},
    {"snapshot", SW_TYPE_JSON, 0, "the last look per metric: values, test, p, alpha, verdict"},
    {"breach_at_ms", SW_TYPE_INT, 0, "wall-clock epoch ms of the breach (0: none)"},
    {"detection_ms", SW_TYPE_DOUBLE, 0, "from the monitor's start to the breach (-1: none)"},
    {"looks", SW_TYPE_INT, 0, "looks taken"},
    {"hold", SW_TYPE_BOOL, 0,
     "true while a metric with policy hold fails or is inconclusive (set from the start)"},
    {"extend_ms", SW_TYPE_INT, 0,
     "extra observation time asked by extend policies so far (set from the start)"},
    {"evidence", SW_TYPE_STRING, 0,
     "enough (every guarded metric could have seen its min_effect), insufficient, or none (no "
     "guarded metric); set from the start"},
    {"evidence_detail", SW_TYPE_JSON, 0,
     "per guarded metric: enough, detectable, observed, required, required_candidate, line"},
    {NULL, 0, 0, NULL}};

typedef struct monitor {
    sw_metric_rule *rules;
    size_t n_rules;
    sw_spending spending;
    sw_gate *when;
    sw_mon_policy on_fail, on_inconclusive;
    int *main_mine, *pairs_mine;
    int any_main, any_pairs;
    int n_guarded;       /* rules with a min_effect, not dry runs */
    sw_mon_source *prom; /* built at init: its queries are checked there */
    json_t *routers;     /* the routers whose stats source router sums (strings) */
} monitor;

static int has_text(const char *s)
{
    return s && *s;
}

/* Whether a JSON parameter is left at its default. The defaults adapt to the source and the
   thresholds (what cannot apply is left out, with a note); what a pipeline wrote is held to. */
static int json_is_default(const char *text, const char *default_text)
{
    json_t *a = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);
    json_t *b = json_loads(default_text, 0, NULL);
    int same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* With source prometheus, the default metrics that have neither a built-in query (the
   router exports no session counter) nor one in `queries` are left out. */
static void drop_unqueried(sw_stage *stage, monitor *k, const char *queries)
{
    json_t *q = json_loads(queries ? queries : "{}", 0, NULL);
    size_t kept = 0;
    for (size_t i = 0; i < k->n_rules; i++) {
        const char *m = k->rules[i].metric;
        if (!sw_metric_is_shadow_pairs(m) && !sw_prom_default_query(m, 0) &&
            !json_object_get(q, m)) {
            sw_host_api->log(stage, SW_LOG_INFO,
                             "default metric %s is not judged: Prometheus has no query for it", m);
            free((char *)m);
            continue;
        }
        k->rules[kept++] = k->rules[i];
    }
    k->n_rules = kept;
    json_decref(q);
}

/* The routers parameter: a list of URLs (a new reference), or NULL. */
static json_t *parse_routers(const char *text)
{
    json_t *list = json_loads(text ? text : "[]", 0, NULL);
    size_t i;
    json_t *url;
    int ok = json_is_array(list);
    json_array_foreach(list, i, url)
    {
        ok &= has_text(json_string_value(url));
    }
    if (!ok) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static sw_status init(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const monitor_cfg *c = config;
    monitor *k = sw_xcalloc(1, sizeof *k);
    h->set_data(stage, k);
    char *err = NULL;
    if (sw_monitor_rules_parse(c->metrics, c->thresholds, &k->rules, &k->n_rules, &err) < 0) {
        sw_status st = h->error(stage, "%s", err);
        free(err);
        return st;
    }
    if (sw_spending_parse(c->spending, &k->spending) < 0)
        return h->error(stage, "spending must be obrien-fleming or bonferroni, not '%s'",
                        c->spending);
    if (!(c->alpha > 0 && c->alpha < 1))
        return h->error(stage, "alpha must be in (0, 1), not %g", c->alpha);
    if (!(c->power > 0.5 && c->power < 1))
        return h->error(stage, "power must be in (0.5, 1), not %g", c->power);
    int prom = strcmp(c->source, "prometheus") == 0;
    if (prom && json_is_default(c->metrics, DEFAULT_METRICS))
        drop_unqueried(stage, k, c->queries);
    int strict = !json_is_default(c->min_effect, DEFAULT_MIN_EFFECT);
    if (sw_monitor_min_effect_parse(c->min_effect, k->rules, k->n_rules, strict, &err) < 0) {
        sw_status st = h->error(stage, "%s", err);
        free(err);
        return st;
    }
    if (err) /* a default that cannot apply here */
        h->log(stage, SW_LOG_INFO, "%s: judged, not guarded", err);
    free(err);
    if (c->interval_ms <= 0 || c->max_looks < 1 || c->min_samples < 0 || c->max_extend_ms < 0)
        return h->error(stage, "interval and max_looks must be positive, min_samples and "
                               "max_extend not negative");
    if (c->latency_samples < 0 || c->latency_samples > 2000)
        return h->error(stage,
                        "latency_samples must be in [0, 2000] (the rank test builds "
                        "n x n differences), not %lld",
                        (long long)c->latency_samples);
    if (sw_mon_policy_parse(c->on_fail, &k->on_fail) < 0 ||
        sw_mon_policy_parse(c->on_inconclusive, &k->on_inconclusive) < 0)
        return h->error(stage, "on_fail and on_inconclusive are continue, hold, extend or "
                               "rollback");
    k->main_mine = sw_xcalloc(k->n_rules ? k->n_rules : 1, sizeof *k->main_mine);
    k->pairs_mine = sw_xcalloc(k->n_rules ? k->n_rules : 1, sizeof *k->pairs_mine);
    for (size_t i = 0; i < k->n_rules; i++) {
        int pairs = sw_metric_is_shadow_pairs(k->rules[i].metric);
        k->pairs_mine[i] = pairs;
        k->main_mine[i] = !pairs;
        k->any_pairs |= pairs;
        k->any_main |= !pairs;
    }
    if (!prom && strcmp(c->source, "router") != 0)
        return h->error(stage, "source must be router or prometheus, not '%s'", c->source);
    k->routers = parse_routers(c->routers);
    if (!k->routers)
        return h->error(stage, "routers must be a list of router base URLs");
    if (prom && json_array_size(k->routers))
        return h->error(stage, "routers is for source router; Prometheus sums over replicas in "
                               "its queries");
    /* Without router, the first of routers answers for the route and the shadow pairs. */
    if (!json_array_size(k->routers) && has_text(c->router))
        json_array_append_new(k->routers, json_string(c->router));
    if (!json_array_size(k->routers) && (!prom || k->any_pairs || !has_text(c->baseline)))
        return h->error(stage, "router is needed (source router, a shadow pair metric, or no "
                               "baseline given)");
    for (size_t i = 0; i < k->n_rules; i++) {
        sw_metric_rule *r = &k->rules[i];
        /* Prometheus keeps histograms, not samples: its latency is judged by relative change. */
        if (prom && r->min_effect > 0 && !sw_metric_is_rate(r->metric)) {
            h->log(stage, SW_LOG_WARN,
                   "min_effect.%s: not guarded with source prometheus (no raw samples, so no rank "
                   "test and no sample size)",
                   r->metric);
            r->min_effect = NAN;
        }
        k->n_guarded += r->min_effect > 0 && !r->dry_run;
    }
    if (prom) {
        json_t *q = json_loads(c->queries ? c->queries : "{}", 0, NULL);
        sw_err e = {{0}};
        if (!json_is_object(q))
            snprintf(e.msg, sizeof e.msg, "queries must be a map of metric to PromQL");
        else
            k->prom = sw_mon_source_prometheus(c->prometheus, q, k->rules, k->n_rules, &e);
        json_decref(q);
        if (!k->prom)
            return h->error(stage, "%s", e.msg);
    } else if (has_text(c->prometheus)) {
        return h->error(stage, "prometheus is set but source is '%s'", c->source);
    }
    if (has_text(c->rollback_when)) {
        sw_err e = {{0}};
        sw_origin at = sw_gate_param_origin(h, stage, "rollback_when");
        k->when = sw_gate_compile(c->rollback_when, &at, NULL, &e);
        if (!k->when)
            return h->error(stage, "rollback_when: %s", e.msg);
    }
    return SW_OK;
}

static void fini(sw_stage *stage)
{
    monitor *k = sw_host_api->data(stage);
    if (!k)
        return;
    sw_monitor_rules_free(k->rules, k->n_rules);
    sw_gate_free(k->when);
    free(k->main_mine);
    free(k->pairs_mine);
    if (k->prom)
        k->prom->free(k->prom);
    json_decref(k->routers);
    free(k);
}

typedef struct look_result {
    json_t *snapshot; /* metric -> snapshot */
    json_t *reasons;  /* array */
    json_t *verdicts; /* metric -> verdict */
    sw_verdict *v;    /* per rule */
    char **why;       /* per rule */
    size_t n;
    char *when_reason; /* rollback_when was true */
    int all_pass;
} look_result;

static void look_free(look_result *l)
{
    json_decref(l->snapshot);
    json_decref(l->reasons);
    json_decref(l->verdicts);
    for (size_t i = 0; i < l->n; i++)
        free(l->why[i]);
    free(l->why);
    free(l->v);
    free(l->when_reason);
    memset(l, 0, sizeof *l);
}

static void ctx_json(sw_context *ctx, const char *key, const json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT);
    sw_value v = sw_value_json_text(t);
    sw_context_set(ctx, key, &v, "monitor", 0);
    sw_value_free(&v);
    free(t);
}

static sw_status judge(sw_stage *stage, const monitor_cfg *c, monitor *k, const sw_mon_look_data *d,
                       int look, look_result *l)
{
    const sw_host *h = sw_host_api;
    l->snapshot = json_object();
    l->reasons = json_array();
    l->verdicts = json_object();
    l->n = k->n_rules;
    l->v = sw_xcalloc(l->n ? l->n : 1, sizeof *l->v);
    l->why = sw_xcalloc(l->n ? l->n : 1, sizeof *l->why);
    l->all_pass = 1;
    sw_judge_opts o = {.alpha = c->alpha,
                       .spending = k->spending,
                       .look = look,
                       .max_looks = (int)c->max_looks,
                       .min_samples = c->min_samples,
                       .power = c->power};
    for (size_t i = 0; i < k->n_rules; i++) {
        json_t *snap;
        sw_verdict v = sw_judge_obs(&k->rules[i], &d->cand[i], &d->base[i], &o, &snap, &l->why[i]);
        l->v[i] = v;
        if (d->note[i]) {
            char *w = sw_xasprintf("%s (query: %s)", l->why[i], d->note[i]);
            free(l->why[i]);
            l->why[i] = w;
            json_object_set_new(snap, "query", json_string(d->note[i]));
        }
        json_object_set_new(l->snapshot, k->rules[i].metric, snap);
        json_object_set_new(l->verdicts, k->rules[i].metric, json_string(sw_verdict_name(v)));
        json_array_append_new(l->reasons, json_string(l->why[i]));
        if (v != SW_VERDICT_PASS)
            l->all_pass = 0;
        if (v == SW_VERDICT_FAIL && k->rules[i].dry_run)
            h->log(stage, SW_LOG_WARN, "dry run: %s", l->why[i]);
    }
    if (!k->when)
        return SW_OK;
    sw_context *ctx = sw_context_new();
    ctx_json(ctx, "m.candidate", d->cand_flat);
    ctx_json(ctx, "m.baseline", d->base_flat);
    ctx_json(ctx, "m.verdicts", l->verdicts);
    sw_value v = sw_value_int(look);
    sw_context_set(ctx, "m.look", &v, "monitor", 0);
    char *reason = NULL;
    sw_gate_result g = sw_gate_eval(k->when, ctx, &reason);
    sw_context_free(ctx);
    sw_status st = SW_OK;
    if (g == SW_GATE_PASS) {
        char *tc = json_dumps(d->cand_flat, JSON_COMPACT);
        char *tb = json_dumps(d->base_flat, JSON_COMPACT);
        l->when_reason = sw_xasprintf("rollback_when (%s) is true: candidate %s vs baseline %s",
                                      c->rollback_when, tc, tb);
        json_array_append_new(l->reasons, json_string(l->when_reason));
        free(tc);
        free(tb);
    } else if (g == SW_GATE_ERROR) {
        st = h->error(stage, "rollback_when: %s", reason ? reason : "error");
    }
    free(reason);
    return st;
}

static sw_status outputs_set(sw_stage *stage, const char *verdict, const look_result *l,
                             json_t *samples, int64_t breach_at, double detection, int looks)
{
    const sw_host *h = sw_host_api;
    /* Before the first look (cancelled early) there is no snapshot yet. */
    char *r = l->reasons ? json_dumps(l->reasons, JSON_COMPACT) : NULL;
    char *s = json_dumps(samples, JSON_COMPACT);
    char *n = l->snapshot ? json_dumps(l->snapshot, JSON_COMPACT) : NULL;
    sw_status st = SW_OK;
    if (h->set_string(stage, "verdict", verdict) != SW_OK ||
        h->set_json(stage, "reasons", r ? r : "[]") != SW_OK ||
        h->set_json(stage, "samples", s) != SW_OK ||
        h->set_json(stage, "snapshot", n ? n : "{}") != SW_OK ||
        h->set_int(stage, "breach_at_ms", breach_at) != SW_OK ||
        h->set_double(stage, "detection_ms", detection) != SW_OK ||
        h->set_int(stage, "looks", looks) != SW_OK)
        st = h->error(stage, "setting outputs: %s", h->last_error(stage));
    free(r);
    free(s);
    free(n);
    return st;
}

/* The signals the canary reads; journaled only when they change. */
typedef struct signals {
    int hold;
    int64_t extend_ms;
    int set;
} signals;

static sw_status signals_set(sw_stage *stage, signals *s, int hold, int64_t extend_ms)
{
    const sw_host *h = sw_host_api;
    if ((!s->set || s->hold != hold) && h->set_bool(stage, "hold", hold) != SW_OK)
        return h->error(stage, "setting hold: %s", h->last_error(stage));
    if ((!s->set || s->extend_ms != extend_ms) &&
        h->set_int(stage, "extend_ms", extend_ms) != SW_OK)
        return h->error(stage, "setting extend_ms: %s", h->last_error(stage));
    s->hold = hold;
    s->extend_ms = extend_ms;
    s->set = 1;
    return SW_OK;
}

typedef struct section {
    sw_mon_report rep;
    char *path;
    const char *title;
} section;

/* The evidence outputs (evidence.h), for the canary: `evidence` is set from the start and
   when it changes; `evidence_detail` when it changes, but at most every EVIDENCE_SET_EVERY_MS
   unless `evidence` changed with it or one more metric has a sample size (the canary's
   exposure cap names it, so it must not wait out the throttle). */
typedef struct evidence_state {
    const char *overall; /* enough, insufficient or none */
    json_t *detail;      /* metric -> its evidence at the last look */
    char *detail_set;    /* the detail text last set */
    int64_t set_at;
    int looked;   /* the detail of a look was set (the first is, whatever the throttle) */
    size_t sized; /* metrics with a sample size in the detail last set */
} evidence_state;

static void evidence_state_free(evidence_state *ev)
{
    json_decref(ev->detail);
    free(ev->detail_set);
}

static sw_status evidence_detail_set(sw_stage *stage, evidence_state *ev, int64_t now)
{
    const sw_host *h = sw_host_api;
    char *text = json_dumps(ev->detail, JSON_COMPACT | JSON_SORT_KEYS);
    if (ev->detail_set && strcmp(text, ev->detail_set) == 0) {
        free(text);
        return SW_OK;
    }
    if (h->set_json(stage, "evidence_detail", text) != SW_OK) {
        free(text);
        return h->error(stage, "setting evidence_detail: %s", h->last_error(stage));
    }
    free(ev->detail_set);
    ev->detail_set = text;
    ev->set_at = now;
    return SW_OK;
}

/* A look's evidence, at its level: past the planned looks the tail of alpha keeps the tests
   running (sequential.h), so evidence goes on accumulating however long a step waits. The
   overall value changing is logged with every guarded metric's sentence and becomes an event
   of the report. */
static sw_status evidence_update(sw_stage *stage, const monitor *k, evidence_state *ev,
                                 look_result *l, section *sec, int64_t now)
{
    const sw_host *h = sw_host_api;
    int enough = 1;
    json_decref(ev->detail);
    ev->detail = json_object();
    for (size_t i = 0; i < k->n_rules; i++) {
        const sw_metric_rule *r = &k->rules[i];
        json_t *snap = json_object_get(l->snapshot, r->metric);
        json_t *e = json_object_get(snap, "evidence");
        if (!e)
            continue;
        json_object_set(ev->detail, r->metric, e);
        if (!r->dry_run && !json_is_true(json_object_get(e, "enough")))
            enough = 0;
    }
    size_t sized = 0;
    const char *key;
    json_t *e;
    json_object_foreach(ev->detail, key, e)
    {
        if (json_is_number(json_object_get(e, "required")))
            sized++;
    }
    const char *overall = !k->n_guarded ? "none" : enough ? "enough" : "insufficient";
    if (strcmp(overall, ev->overall) != 0) {
        if (h->set_string(stage, "evidence", overall) != SW_OK)
            return h->error(stage, "setting evidence: %s", h->last_error(stage));
        ev->overall = overall;
        ev->looked = 1;
        sec->rep.evidence = overall;
        ev->sized = sized;
        json_object_foreach(ev->detail, key, e)
        {
            const char *line = json_string_value(json_object_get(e, "line"));
            h->log(stage, SW_LOG_INFO, "evidence %s: %s", overall, line);
            char *label = sw_xasprintf("evidence %s: %s", overall, line);
            sw_mon_report_event(&sec->rep, now, enough ? "pass" : "warn", label);
            free(label);
        }
        return evidence_detail_set(stage, ev, now);
    }
    if (!ev->looked || sized > ev->sized || now - ev->set_at >= EVIDENCE_SET_EVERY_MS) {
        ev->looked = 1;
        ev->sized = sized;
        return evidence_detail_set(stage, ev, now);
    }
    return SW_OK;
}

/* Rewritten after every look, atomically: a run that dies mid-way still has it. */
static void section_write(sw_stage *stage, section *sec, const char *verdict, int looks, double nc,
                          double nb, const signals *sig)
{
    const sw_host *h = sw_host_api;
    json_t *j = sw_mon_report_json(&sec->rep, sec->title, verdict, looks, nc, nb, sig->hold,
                                   sig->extend_ms);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    sw_err e = {{0}};
    if (sw_write_file_atomic(sec->path, text, strlen(text), &e) < 0)
        h->log(stage, SW_LOG_WARN, "report section: %s", e.msg);
    free(text);
}

static int resolve_baseline(sw_stage *stage, sw_admin_client *ac, const char *agent,
                            char **baseline)
{
    const sw_host *h = sw_host_api;
    char *path = sw_xasprintf("/admin/agents/%s/route", agent);
    json_t *route = NULL;
    char msg[1024];
    int rc = sw_admin_client_json(ac, "GET", path, NULL, &route, NULL, msg, sizeof msg);
    free(path);
    if (rc) {
        h->log(stage, SW_LOG_WARN, "%s (retrying next interval)", msg);
        return -1;
    }
    const char *stable = json_string_value(json_object_get(route, "stable"));
    *baseline = stable ? sw_xstrdup(stable) : NULL;
    json_decref(route);
    return stable ? 0 : -2;
}

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const monitor_cfg *c = config;
    monitor *k = h->data(stage);
    sw_admin_client ac = {0};
    const char *router =
        has_text(c->router) ? c->router : json_string_value(json_array_get(k->routers, 0));
    int have_ac = has_text(router);
    if (have_ac && sw_admin_client_init(&ac, stage, router, c->token_file) != SW_OK)
        return SW_ERROR;
    /* Every replica's stats and shadow pairs: routers, else [router]. */
    size_t n_replicas = json_array_size(k->routers);
    sw_admin_client *replica_ac = sw_xcalloc(n_replicas ? n_replicas : 1, sizeof *replica_ac);
    for (size_t i = 0; i < n_replicas; i++)
        if (sw_admin_client_init(&replica_ac[i], stage,
                                 json_string_value(json_array_get(k->routers, i)),
                                 c->token_file) != SW_OK) {
            for (size_t j = 0; j < i; j++)
                sw_admin_client_fini(&replica_ac[j]);
            free(replica_ac);
            if (have_ac)
                sw_admin_client_fini(&ac);
            return SW_ERROR;
        }
    sw_mon_routers *replicas = sw_mon_routers_new(replica_ac, n_replicas);
    sw_mon_source *main_src = k->prom      ? k->prom
                              : n_replicas ? sw_mon_source_router(replicas, c->latency_samples)
                                           : NULL;
    sw_mon_source *pairs_src = k->any_pairs ? sw_mon_source_pairs(replicas, PAIRS_LIMIT) : NULL;
    int64_t start = sw_wall_ms();
    double t0 = (double)start;
    char *baseline = has_text(c->baseline) ? sw_xstrdup(c->baseline) : NULL;
    look_result last = {0};
    json_t *samples = json_pack("{s:i, s:i, s:i, s:I}", "candidate", 0, "baseline", 0, "looks", 0,
                                "window_ms", (json_int_t)0);
    int looks = 0, polls = 0;
    double last_nc = 0, last_nb = 0;
    sw_status st = SW_OK;
    const char *verdict = "inconclusive";

    char *title = sw_xasprintf("Monitor: %s", h->stage_id(stage));
    section sec = {.title = title};
    const char **names = sw_xcalloc(k->n_rules ? k->n_rules : 1, sizeof *names);
    for (size_t i = 0; i < k->n_rules; i++)
        names[i] = k->rules[i].metric;
    sw_mon_report_init(&sec.rep, names, k->n_rules, start);
    free(names);
    sec.path = sw_path_join(h->artifacts_dir(stage), "report-section.json");

    /* Before any data every metric is inconclusive: a hold policy for that holds from the
       start, and the canary finds both outputs from the first instant. */
    signals sig = {0};
    sw_verdict *none = sw_xcalloc(k->n_rules ? k->n_rules : 1, sizeof *none);
    for (size_t i = 0; i < k->n_rules; i++)
        none[i] = SW_VERDICT_INCONCLUSIVE;
    sw_policy_decision dec;
    sw_policy_decide(k->rules, none, k->n_rules, k->on_fail, k->on_inconclusive, 0, 0, 0, 0, &dec);
    free(none);
    st = signals_set(stage, &sig, dec.hold, 0);
    evidence_state ev = {.overall = k->n_guarded ? "insufficient" : "none",
                         .detail = json_object()};
    sec.rep.evidence = ev.overall;
    if (st == SW_OK && h->set_string(stage, "evidence", ev.overall) != SW_OK)
        st = h->error(stage, "setting evidence: %s", h->last_error(stage));
    if (st == SW_OK)
        st = evidence_detail_set(stage, &ev, start);
    if (st == SW_OK)
        section_write(stage, &sec, verdict, 0, 0, 0, &sig);

    while (st == SW_OK) {
        if (h->wait(stage, c->interval_ms))
            break; /* the run is ending, or stopping */
        polls++;
        if (!baseline) {
            int rc = resolve_baseline(stage, &ac, c->agent, &baseline);
            if (rc == -2) {
                st = h->error(stage, "the route of '%s' has no stable version", c->agent);
                break;
            }
            if (rc)
                continue;
        }
        sw_mon_env env = {.stage = stage,
                          .agent = c->agent,
                          .candidate = c->candidate,
                          .baseline = baseline,
                          .start_ms = start,
                          .now_ms = sw_wall_ms()};
        sw_mon_look_data d;
        sw_mon_look_data_init(&d, k->n_rules);
        char *err = NULL;
        int rc = SW_SRC_OK;
        /* The main source runs even without a metric of its own: it counts the requests. */
        if (main_src)
            rc = main_src->measure(main_src, &env, k->rules, k->n_rules, k->main_mine, &d, &err);
        if (rc == SW_SRC_OK && pairs_src)
            rc = pairs_src->measure(pairs_src, &env, k->rules, k->n_rules, k->pairs_mine, &d, &err);
        if (rc == SW_SRC_ERROR) {
            st = h->error(stage, "%s", err);
            free(err);
            sw_mon_look_data_free(&d);
            break;
        }
        if (rc == SW_SRC_RETRY) {
            h->log(stage, SW_LOG_WARN, "%s (retrying next interval)", err);
            free(err);
            sw_mon_look_data_free(&d);
            continue;
        }
        /* A look counts once both sides have enough samples: alpha is spent on information. */
        double nc = d.n_cand, nb = d.n_base;
        if (!k->any_main && pairs_src) { /* only shadow metrics: the pairs are the samples */
            for (size_t i = 0; i < k->n_rules; i++)
                nc = fmax(nc, d.cand[i].n);
            nb = nc;
        }
        int enough = nc >= (double)c->min_samples && nb >= (double)c->min_samples;
        int look = enough ? looks + 1 : (looks ? looks : 1);
        look_result l = {0};
        st = judge(stage, c, k, &d, look, &l);
        sw_mon_look_data_free(&d);
        if (st != SW_OK) {
            look_free(&l);
            break;
        }
        if (enough)
            looks++;
        last_nc = nc;
        last_nb = nb;
        int64_t now = sw_wall_ms();
        json_decref(samples);
        samples = json_pack("{s:I, s:I, s:i, s:I}", "candidate", (json_int_t)nc, "baseline",
                            (json_int_t)nb, "looks", looks, "window_ms", (json_int_t)(now - start));
        int at_end = c->duration_ms > 0 && now - start >= c->duration_ms + sig.extend_ms;
        sw_policy_decide(k->rules, l.v, l.n, k->on_fail, k->on_inconclusive, c->interval_ms,
                         sig.extend_ms, c->max_extend_ms, at_end, &dec);
        sw_mon_report_look(&sec.rep, now, l.snapshot, (const char *const *)l.why);
        /* A failing rule whose policy lets the monitor go on is logged when it starts to fail,
           not at every look it goes on failing. */
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i] == SW_VERDICT_FAIL && !k->rules[i].dry_run && (int)i != dec.breach &&
                !(i < last.n && last.v[i] == SW_VERDICT_FAIL))
                h->log(stage, SW_LOG_WARN, "%s (policy %s)", l.why[i],
                       sw_mon_policy_name(
                           sw_policy_for(&k->rules[i], l.v[i], k->on_fail, k->on_inconclusive)));
        look_free(&last);
        last = l;
        if (dec.hold != sig.hold) {
            char *label = dec.hold ? sw_xasprintf("hold: %s", l.why[dec.hold_rule])
                                   : sw_xstrdup("hold released");
            h->log(stage, SW_LOG_INFO, "%s", label);
            sw_mon_report_event(&sec.rep, now, dec.hold ? "warn" : "info", label);
            free(label);
        }
        if (dec.extended) {
            char *label = sw_xasprintf("extend: observation time +%lld ms (%lld ms in all, at most "
                                       "%lld)",
                                       (long long)(dec.extend_ms - sig.extend_ms),
                                       (long long)dec.extend_ms, (long long)c->max_extend_ms);
            h->log(stage, SW_LOG_INFO, "%s", label);
            sw_mon_report_event(&sec.rep, now, "info", label);
            free(label);
        }
        st = signals_set(stage, &sig, dec.hold, dec.extend_ms);
        if (st == SW_OK)
            st = evidence_update(stage, k, &ev, &last, &sec, now);
        if (st != SW_OK)
            break;
        char note[160];
        snprintf(note, sizeof note, "look %d: %.0f candidate / %.0f baseline samples", looks, nc,
                 nb);
        h->progress(stage,
                    c->duration_ms > 0 ? fmin(1.0, (double)(now - start) /
                                                       (double)(c->duration_ms + sig.extend_ms))
                                       : 0.5,
                    note);
        const char *breach = dec.breach >= 0 ? l.why[dec.breach] : l.when_reason;
        if (breach) {
            sw_mon_report_breach(&sec.rep, now,
                                 dec.breach >= 0 ? k->rules[dec.breach].metric : NULL, breach);
            section_write(stage, &sec, "fail", looks, nc, nb, &sig);
            outputs_set(stage, "fail", &last, samples, now, (double)now - t0, looks);
            st = h->fail(stage, "%s", breach);
            verdict = NULL;
            break;
        }
        verdict = l.all_pass ? "pass" : "inconclusive";
        if (at_end && dec.end_rollback >= 0) {
            char *why = sw_xasprintf("inconclusive after %lld ms and %d looks, and its policy is "
                                     "rollback: %s",
                                     (long long)(now - start), looks, l.why[dec.end_rollback]);
            sw_mon_report_breach(&sec.rep, now, k->rules[dec.end_rollback].metric, why);
            section_write(stage, &sec, "inconclusive", looks, nc, nb, &sig);
            outputs_set(stage, "inconclusive", &last, samples, now, (double)now - t0, looks);
            st = h->fail(stage, "%s", why);
            free(why);
            verdict = NULL;
            break;
        }
        section_write(stage, &sec, verdict, looks, nc, nb, &sig);
        if (at_end)
            break;
    }
    if (st == SW_OK && ev.detail)
        evidence_detail_set(stage, &ev, sw_wall_ms()); /* the last look's, whatever the throttle */
    if (st == SW_OK && verdict) {
        h->log(stage, SW_LOG_INFO, "verdict %s after %d looks (%d polls)", verdict, looks, polls);
        st = outputs_set(stage, verdict, &last, samples, 0, -1, looks);
        section_write(stage, &sec, verdict, looks, last_nc, last_nb, &sig);
    }
    evidence_state_free(&ev);
    sw_mon_report_free(&sec.rep);
    free(sec.path);
    free(title);
    look_free(&last);
    json_decref(samples);
    free(baseline);
    if (main_src && main_src != k->prom)
        main_src->free(main_src);
    if (pairs_src)
        pairs_src->free(pairs_src);
    if (have_ac)
        sw_admin_client_fini(&ac);
    sw_mon_routers_free(replicas);
    for (size_t i = 0; i < n_replicas; i++)
        sw_admin_client_fini(&replica_ac[i]);
    free(replica_ac);
    return st;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "monitor",
    .version = "1.1.0",
    .summary = "Watch the candidate against the baseline on the router or Prometheus; fail, hold "
               "or extend on a breach",
    .params = params,
    .config_size = sizeof(monitor_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = fini,
};

SW_PLUGIN(desc)
