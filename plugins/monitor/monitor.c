/*
 * monitor.c - the `monitor` stage, usually `background: true`: every interval
 * it reads the router's windowed stats for the candidate and the baseline
 * over the same window (since the monitor started), judges each metric
 * (judge.h), evaluates `rollback_when:` over the snapshot, and on a breach
 * fails with a reason naming the metric, both values, the test, its p-value
 * and level, and the threshold, so the runner stops the canary and runs
 * on_failure. Cancelled because the run ended, it returns SW_OK with its last
 * snapshot.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../rollback/admin_client.h"
#include "base/util.h"
#include "judge.h"
#include "lua/gate.h"
#include "model/context.h"
#include "model/value.h"
#include "slipway/plugin.h"

typedef struct monitor_cfg {
    const char *router;
    const char *token_file;
    const char *agent;
    const char *candidate;
    const char *baseline;
    int64_t interval_ms;
    int64_t duration_ms;
    int64_t min_samples;
    double alpha;
    const char *spending;
    int64_t max_looks;
    const char *metrics;
    const char *thresholds;
    const char *rollback_when;
    const char *on_fail;
    const char *on_inconclusive;
} monitor_cfg;

static const sw_param params[] = {
    {"router", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(monitor_cfg, router),
     "the router's base URL"},
    {"token_file", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(monitor_cfg, token_file),
     "a file holding the router's admin token"},
    {"agent", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(monitor_cfg, agent), "the agent"},
    {"candidate", SW_TYPE_STRING, SW_PARAM_REQUIRED, NULL, offsetof(monitor_cfg, candidate),
     "the candidate's router version"},
    {"baseline", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, baseline),
     "the baseline's router version; default: the route's stable"},
    {"interval", SW_TYPE_INT, SW_PARAM_DURATION, "10s", offsetof(monitor_cfg, interval_ms),
     "time between looks"},
    {"duration", SW_TYPE_INT, SW_PARAM_DURATION, "0", offsetof(monitor_cfg, duration_ms),
     "stop after this long with the verdict (0: until the run ends)"},
    {"min_samples", SW_TYPE_INT, 0, "30", offsetof(monitor_cfg, min_samples),
     "samples each side needs before a metric is judged"},
    {"alpha", SW_TYPE_DOUBLE, 0, "0.05", offsetof(monitor_cfg, alpha),
     "the false-alarm rate over all looks of a metric"},
    {"spending", SW_TYPE_STRING, 0, "obrien-fleming", offsetof(monitor_cfg, spending),
     "how alpha is spent over the looks: obrien-fleming or bonferroni"},
    {"max_looks", SW_TYPE_INT, 0, "20", offsetof(monitor_cfg, max_looks),
     "planned looks with enough samples; later ones judge by thresholds only"},
    {"metrics", SW_TYPE_JSON, 0, "[\"error_rate\"]", offsetof(monitor_cfg, metrics),
     "metrics judged by their test"},
    {"thresholds", SW_TYPE_JSON, 0, "{}", offsetof(monitor_cfg, thresholds),
     "metric -> {max, max_increase, max_relative_increase, dry_run}"},
    {"rollback_when", SW_TYPE_STRING, 0, NULL, offsetof(monitor_cfg, rollback_when),
     "a Lua condition over m.candidate.*, m.baseline.*, m.verdicts.*, m.look: true rolls back"},
    {"on_fail", SW_TYPE_STRING, 0, "rollback", offsetof(monitor_cfg, on_fail),
     "a metric's fail verdict: rollback (abort the run) or continue (report only)"},
    {"on_inconclusive", SW_TYPE_STRING, 0, "continue", offsetof(monitor_cfg, on_inconclusive),
     "an inconclusive verdict at the end (duration reached): continue or rollback"},
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
    {NULL, 0, 0, NULL}};

typedef struct monitor {
    sw_metric_rule *rules;
    size_t n_rules;
    sw_spending spending;
    sw_gate *when;
} monitor;

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
    if (c->interval_ms <= 0 || c->max_looks < 1 || c->min_samples < 0)
        return h->error(stage, "interval and max_looks must be positive, min_samples not negative");
    if ((strcmp(c->on_fail, "rollback") && strcmp(c->on_fail, "continue")) ||
        (strcmp(c->on_inconclusive, "rollback") && strcmp(c->on_inconclusive, "continue")))
        return h->error(stage, "on_fail and on_inconclusive are rollback or continue");
    if (c->rollback_when && *c->rollback_when) {
        sw_err e = {{0}};
        k->when = sw_gate_compile(c->rollback_when, "rollback_when", 1, NULL, &e);
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
    free(k);
}

/* Every known metric's value, flat, for Lua's m.candidate / m.baseline. */
static json_t *flat(const json_t *version)
{
    json_t *o = json_object();
    double n;
    for (size_t i = 0; sw_monitor_metrics[i]; i++)
        json_object_set_new(o, sw_monitor_metrics[i],
                            json_real(sw_metric_value(sw_monitor_metrics[i], version, &n)));
    json_object_set_new(o, "requests",
                        json_integer(json_integer_value(json_object_get(version, "requests"))));
    return o;
}

typedef struct look_result {
    json_t *snapshot; /* metric -> snapshot */
    json_t *reasons;  /* array */
    json_t *verdicts; /* metric -> verdict */
    int breach;       /* a non-dry-run fail (with on_fail rollback) or rollback_when true */
    char *breach_reason;
    int all_pass;
} look_result;

static void look_free(look_result *l)
{
    json_decref(l->snapshot);
    json_decref(l->reasons);
    json_decref(l->verdicts);
    free(l->breach_reason);
    memset(l, 0, sizeof *l);
}

static sw_status judge(sw_stage *stage, const monitor_cfg *c, monitor *k, const json_t *cand,
                       const json_t *base, int look, look_result *l)
{
    const sw_host *h = sw_host_api;
    l->snapshot = json_object();
    l->reasons = json_array();
    l->verdicts = json_object();
    l->all_pass = 1;
    sw_judge_opts o = {.alpha = c->alpha,
                       .spending = k->spending,
                       .look = look,
                       .max_looks = (int)c->max_looks,
                       .min_samples = c->min_samples};
    for (size_t i = 0; i < k->n_rules; i++) {
        json_t *snap;
        char *why;
        sw_verdict v = sw_judge_metric(&k->rules[i], cand, base, &o, &snap, &why);
        json_object_set_new(l->snapshot, k->rules[i].metric, snap);
        json_object_set_new(l->verdicts, k->rules[i].metric, json_string(sw_verdict_name(v)));
        json_array_append_new(l->reasons, json_string(why));
        if (v != SW_VERDICT_PASS)
            l->all_pass = 0;
        if (v == SW_VERDICT_FAIL && k->rules[i].dry_run)
            h->log(stage, SW_LOG_WARN, "dry run: %s", why);
        else if (v == SW_VERDICT_FAIL && strcmp(c->on_fail, "rollback") == 0 && !l->breach) {
            l->breach = 1;
            l->breach_reason = sw_xstrdup(why);
        } else if (v == SW_VERDICT_FAIL)
            h->log(stage, SW_LOG_WARN, "%s", why);
        free(why);
    }
    if (k->when && !l->breach) {
        sw_context *ctx = sw_context_new();
        json_t *fc = flat(cand), *fb = flat(base);
        char *tc = json_dumps(fc, JSON_COMPACT), *tb = json_dumps(fb, JSON_COMPACT),
             *tv = json_dumps(l->verdicts, JSON_COMPACT);
        sw_value v = sw_value_json_text(tc);
        sw_context_set(ctx, "m.candidate", &v, "monitor", 0);
        sw_value_free(&v);
        v = sw_value_json_text(tb);
        sw_context_set(ctx, "m.baseline", &v, "monitor", 0);
        sw_value_free(&v);
        v = sw_value_json_text(tv);
        sw_context_set(ctx, "m.verdicts", &v, "monitor", 0);
        sw_value_free(&v);
        v = sw_value_int(look);
        sw_context_set(ctx, "m.look", &v, "monitor", 0);
        char *reason = NULL;
        sw_gate_result g = sw_gate_eval(k->when, ctx, &reason);
        sw_context_free(ctx);
        if (g == SW_GATE_PASS) {
            l->breach = 1;
            l->breach_reason =
                sw_xasprintf("rollback_when (%s) is true: candidate %s vs baseline %s",
                             c->rollback_when, tc, tb);
            json_array_append_new(l->reasons, json_string(l->breach_reason));
        } else if (g == SW_GATE_ERROR) {
            free(tc);
            free(tb);
            free(tv);
            json_decref(fc);
            json_decref(fb);
            sw_status st = h->error(stage, "rollback_when: %s", reason ? reason : "error");
            free(reason);
            return st;
        }
        free(reason);
        free(tc);
        free(tb);
        free(tv);
        json_decref(fc);
        json_decref(fb);
    }
    return SW_OK;
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

static sw_status run(sw_stage *stage, const void *config)
{
    const sw_host *h = sw_host_api;
    const monitor_cfg *c = config;
    monitor *k = h->data(stage);
    sw_admin_client ac;
    if (sw_admin_client_init(&ac, stage, c->router, c->token_file) != SW_OK)
        return SW_ERROR;
    int64_t start = sw_wall_ms();
    double t0 = (double)start;
    char *baseline = c->baseline && *c->baseline ? sw_xstrdup(c->baseline) : NULL;
    char msg[1024];
    look_result last = {0};
    json_t *samples = json_pack("{s:i, s:i, s:i, s:I}", "candidate", 0, "baseline", 0, "looks", 0,
                                "window_ms", (json_int_t)0);
    int looks = 0, polls = 0;
    sw_status st = SW_OK;
    const char *verdict = "inconclusive";
    for (;;) {
        if (h->wait(stage, c->interval_ms))
            break; /* the run is ending, or stopping */
        polls++;
        if (!baseline) {
            char *path = sw_xasprintf("/admin/agents/%s/route", c->agent);
            json_t *route = NULL;
            int rc = sw_admin_client_json(&ac, "GET", path, NULL, &route, NULL, msg, sizeof msg);
            free(path);
            if (rc) {
                h->log(stage, SW_LOG_WARN, "%s (retrying next interval)", msg);
                continue;
            }
            baseline = sw_xstrdup(json_string_value(json_object_get(route, "stable")));
            json_decref(route);
            if (!baseline) {
                st = h->error(stage, "the route of '%s' has no stable version", c->agent);
                break;
            }
        }
        char *path = sw_xasprintf("/admin/stats?agent=%s&since=%lld", c->agent, (long long)start);
        json_t *stats = NULL;
        int rc = sw_admin_client_json(&ac, "GET", path, NULL, &stats, NULL, msg, sizeof msg);
        free(path);
        if (rc) {
            /* A router restart or a blip is not a verdict on the candidate. */
            h->log(stage, SW_LOG_WARN, "%s (retrying next interval)", msg);
            continue;
        }
        json_t *versions = json_object_get(stats, "versions");
        json_t *cand = json_object_get(versions, c->candidate);
        json_t *base = json_object_get(versions, baseline);
        json_int_t nc = json_integer_value(json_object_get(cand, "requests"));
        json_int_t nb = json_integer_value(json_object_get(base, "requests"));
        /* A look counts once both sides have enough samples: alpha is spent on information. */
        int enough = nc >= c->min_samples && nb >= c->min_samples;
        int look = enough ? looks + 1 : (looks ? looks : 1);
        look_result l = {0};
        st = judge(stage, c, k, cand, base, look, &l);
        if (st != SW_OK) {
            json_decref(stats);
            look_free(&l);
            break;
        }
        if (enough)
            looks++;
        json_decref(samples);
        samples = json_pack("{s:I, s:I, s:i, s:I}", "candidate", nc, "baseline", nb, "looks", looks,
                            "window_ms", (json_int_t)(sw_wall_ms() - start));
        json_decref(stats);
        look_free(&last);
        last = l;
        char note[160];
        snprintf(note, sizeof note, "look %d: %lld candidate / %lld baseline requests", looks,
                 (long long)nc, (long long)nb);
        h->progress(stage,
                    c->duration_ms > 0
                        ? fmin(1.0, (double)(sw_wall_ms() - start) / (double)c->duration_ms)
                        : 0.5,
                    note);
        if (l.breach) {
            int64_t at = sw_wall_ms();
            outputs_set(stage, "fail", &last, samples, at, (double)at - t0, looks);
            st = h->fail(stage, "%s", l.breach_reason);
            verdict = NULL;
            break;
        }
        verdict = l.all_pass ? "pass" : "inconclusive";
        if (c->duration_ms > 0 && sw_wall_ms() - start >= c->duration_ms) {
            if (!l.all_pass && strcmp(c->on_inconclusive, "rollback") == 0) {
                outputs_set(stage, "inconclusive", &last, samples, sw_wall_ms(),
                            (double)sw_wall_ms() - t0, looks);
                st = h->fail(stage,
                             "inconclusive after %lld ms and %d looks, and on_inconclusive "
                             "is rollback",
                             (long long)c->duration_ms, looks);
                verdict = NULL;
            }
            break;
        }
    }
    if (st == SW_OK && verdict) {
        h->log(stage, SW_LOG_INFO, "verdict %s after %d looks (%d polls)", verdict, looks, polls);
        st = outputs_set(stage, verdict, &last, samples, 0, -1, looks);
    }
    look_free(&last);
    json_decref(samples);
    free(baseline);
    sw_admin_client_fini(&ac);
    return st;
}

static const sw_stage_desc desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "monitor",
    .version = "1.0.0",
    .summary = "Watch the candidate against the baseline on the router; fail on a breach",
    .params = params,
    .config_size = sizeof(monitor_cfg),
    .inputs = inputs,
    .outputs = outputs,
    .init = init,
    .run = run,
    .fini = fini,
};

SW_PLUGIN(desc)
