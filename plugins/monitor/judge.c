/* judge.c - one metric, candidate vs baseline. */
#include "judge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "stats/proptest.h"

const char *const sw_monitor_metrics[] = {
    "error_rate",  "tool_error_rate",  "task_failure_rate",  "feedback_negative_rate",
    "latency_p50", "latency_p95",      "latency_p99",        "ttft_p50",
    "ttft_p95",    "cost_per_request", "tokens_per_request", "shadow_different_rate",
    NULL};

const char *sw_verdict_name(sw_verdict v)
{
    return v == SW_VERDICT_FAIL ? "fail" : v == SW_VERDICT_INCONCLUSIVE ? "inconclusive" : "pass";
}

int sw_monitor_metric_known(const char *name)
{
    for (size_t i = 0; sw_monitor_metrics[i]; i++)
        if (strcmp(sw_monitor_metrics[i], name) == 0)
            return 1;
    return 0;
}

static double num(const json_t *o, const char *a, const char *b)
{
    const json_t *j = json_object_get(o, a);
    if (b)
        j = json_object_get(j, b);
    return json_is_number(j) ? json_number_value(j) : 0;
}

/* Rates as counts: *x of *n. 1 when the metric is a rate. */
static int rate_counts(const char *m, const json_t *v, double *x, double *n)
{
    if (strcmp(m, "error_rate") == 0) {
        *x = num(v, "errors", "5xx") + num(v, "errors", "timeout") + num(v, "errors", "connect") +
             num(v, "errors", "stream_cut");
        *n = num(v, "requests", NULL);
    } else if (strcmp(m, "tool_error_rate") == 0) {
        *x = num(v, "events", "tool_calls_error");
        *n = *x + num(v, "events", "tool_calls_ok");
    } else if (strcmp(m, "task_failure_rate") == 0) {
        *x = num(v, "events", "tasks_failed");
        *n = *x + num(v, "events", "tasks_completed");
    } else if (strcmp(m, "feedback_negative_rate") == 0) {
        *x = num(v, "events", "feedback_negative");
        *n = *x + num(v, "events", "feedback_positive");
    } else if (strcmp(m, "shadow_different_rate") == 0) {
        *x = num(v, "shadow", "different");
        *n = num(v, "shadow", "compared");
    } else {
        return 0;
    }
    return 1;
}

double sw_metric_value(const char *m, const json_t *v, double *n)
{
    double x = 0, cnt = 0;
    if (rate_counts(m, v, &x, &cnt)) {
        *n = cnt;
        return cnt > 0 ? x / cnt : 0;
    }
    double req = num(v, "requests", NULL);
    *n = req;
    if (strncmp(m, "latency_", 8) == 0)
        return num(v, "latency_ms", m + 8);
    if (strncmp(m, "ttft_", 5) == 0) {
        const json_t *t = json_object_get(v, "ttft_ms");
        return json_is_object(t) ? num(v, "ttft_ms", m + 5) : 0;
    }
    if (strcmp(m, "cost_per_request") == 0)
        return req > 0 ? num(v, "cost", NULL) / req : 0;
    if (strcmp(m, "tokens_per_request") == 0)
        return req > 0 ? (num(v, "tokens_in", NULL) + num(v, "tokens_out", NULL)) / req : 0;
    return 0;
}

sw_verdict sw_judge_metric(const sw_metric_rule *r, const json_t *cand, const json_t *base,
                           const sw_judge_opts *o, json_t **snapshot, char **reason)
{
    const char *m = r->metric;
    double nc = 0, nb = 0;
    double vc = sw_metric_value(m, cand, &nc), vb = sw_metric_value(m, base, &nb);
    double xc = 0, xb = 0, tc, tb;
    int is_rate = rate_counts(m, cand, &xc, &tc);
    rate_counts(m, base, &xb, &tb);
    /* The shadow comparison has no baseline: only its absolute threshold applies. */
    int candidate_only = strcmp(m, "shadow_different_rate") == 0;
    double level = sw_look_alpha(o->spending, o->alpha, o->look, o->max_looks);
    const char *test = "none";
    double p = NAN;
    sw_verdict v = SW_VERDICT_PASS;
    char *why = NULL;
    double min = (double)o->min_samples;

    if (!isnan(r->max) && nc >= min && vc > r->max) {
        v = SW_VERDICT_FAIL;
        test = "threshold";
        why = sw_xasprintf("%s: candidate %.4g over the threshold max %.4g (baseline %.4g; %.0f "
                           "and %.0f samples)",
                           m, vc, r->max, vb, nc, nb);
    } else if (nc < min || (!candidate_only && nb < min)) {
        v = SW_VERDICT_INCONCLUSIVE;
        why = sw_xasprintf("%s: too few samples (candidate %.0f, baseline %.0f; need %lld)", m, nc,
                           nb, (long long)o->min_samples);
    } else if (candidate_only) {
        v = SW_VERDICT_PASS;
    } else if (is_rate) {
        double inc = isnan(r->max_increase) ? 0 : r->max_increase;
        uint64_t ixa = (uint64_t)xb, ina = (uint64_t)tb, ixb = (uint64_t)xc, inb = (uint64_t)tc;
        /* Fisher's exact test when the z test's normal approximation is poor. */
        double pool = (xb + xc) / (tb + tc);
        double emin = fmin(fmin(pool * tb, (1 - pool) * tb), fmin(pool * tc, (1 - pool) * tc));
        if (emin < 5) {
            test = "Fisher's exact test";
            sw_fisher_exact(ixa, ina, ixb, inb, &p);
        } else {
            double z;
            test = "two-proportion z test";
            sw_two_prop_z(ixa, ina, ixb, inb, &z);
            p = sw_normal_cdf(-z); /* not 1 - Phi(z): that underflows to 0 far out */
        }
        int significant = p<level, worse = vc - vb> inc;
        if (significant && worse) {
            v = SW_VERDICT_FAIL;
            why = sw_xasprintf("%s: candidate %.4g (%.0f/%.0f) vs baseline %.4g (%.0f/%.0f); %s "
                               "one-sided p = %.3g < alpha %.3g (look %d of %d, %s); threshold "
                               "max_increase %.4g exceeded by %.4g",
                               m, vc, xc, tc, vb, xb, tb, test, p, level, o->look, o->max_looks,
                               sw_spending_name(o->spending), inc, vc - vb - inc);
        } else if (worse && p < o->alpha) {
            v = SW_VERDICT_INCONCLUSIVE;
            why = sw_xasprintf("%s: candidate %.4g vs baseline %.4g; %s p = %.3g is below %.3g but "
                               "not below this look's alpha %.3g",
                               m, vc, vb, test, p, o->alpha, level);
        }
    } else {
        double rel = isnan(r->max_relative_increase) ? 0.2 : r->max_relative_increase;
        test = "relative change";
        double change = vb > 0 ? vc / vb - 1 : (vc > 0 ? INFINITY : 0);
        if (change > rel) {
            v = SW_VERDICT_FAIL;
            why = sw_xasprintf("%s: candidate %.4g vs baseline %.4g, %+.1f%% (%.0f and %.0f "
                               "samples); threshold max_relative_increase %+.1f%%",
                               m, vc, vb, change * 100, nc, nb, rel * 100);
        }
    }
    if (!why)
        why =
            sw_xasprintf("%s: candidate %.4g vs baseline %.4g: %s", m, vc, vb, sw_verdict_name(v));
    json_t *s = json_pack("{s:s, s:f, s:f, s:f, s:f, s:s, s:f, s:s, s:b}", "metric", m, "candidate",
                          vc, "baseline", vb, "n_candidate", nc, "n_baseline", nb, "test", test,
                          "alpha", level, "verdict", sw_verdict_name(v), "dry_run", r->dry_run);
    json_object_set_new(s, "p", isnan(p) ? json_null() : json_real(p));
    *snapshot = s;
    *reason = why;
    return v;
}

static double opt_num(const json_t *o, const char *k)
{
    const json_t *j = json_object_get(o, k);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

static sw_metric_rule *add_rule(sw_metric_rule **rules, size_t *n, const char *metric)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*rules)[i].metric, metric) == 0)
            return &(*rules)[i];
    *rules = sw_xrealloc(*rules, (*n + 1) * sizeof **rules);
    sw_metric_rule *r = &(*rules)[(*n)++];
    *r = (sw_metric_rule){.metric = sw_xstrdup(metric),
                          .max = NAN,
                          .max_increase = NAN,
                          .max_relative_increase = NAN};
    return r;
}

int sw_monitor_rules_parse(const char *metrics_json, const char *thresholds_json,
                           sw_metric_rule **rules, size_t *n, char **err)
{
    *rules = NULL;
    *n = 0;
    json_t *ms = json_loads(metrics_json ? metrics_json : "[]", 0, NULL);
    json_t *th = json_loads(thresholds_json ? thresholds_json : "{}", 0, NULL);
    int rc = 0;
    size_t i;
    json_t *v;
    const char *key;
    if (!json_is_array(ms) || !json_is_object(th)) {
        *err = sw_xasprintf("metrics must be a list of names and thresholds a map of metric to "
                            "{max, max_increase, max_relative_increase, dry_run}");
        rc = -1;
        goto done;
    }
    json_array_foreach(ms, i, v)
    {
        if (!json_is_string(v) || !sw_monitor_metric_known(json_string_value(v))) {
            *err = sw_xasprintf("metrics[%zu]: unknown metric '%s'", i,
                                json_is_string(v) ? json_string_value(v) : "?");
            rc = -1;
            goto done;
        }
        add_rule(rules, n, json_string_value(v));
    }
    json_object_foreach(th, key, v)
    {
        if (!sw_monitor_metric_known(key) || !json_is_object(v)) {
            *err = sw_xasprintf("thresholds: unknown metric '%s' or not a map", key);
            rc = -1;
            goto done;
        }
        const char *k2;
        json_t *x;
        json_object_foreach(v, k2, x)
        {
            int ok = (strcmp(k2, "dry_run") == 0 && json_is_boolean(x)) ||
                     ((strcmp(k2, "max") == 0 || strcmp(k2, "max_increase") == 0 ||
                       strcmp(k2, "max_relative_increase") == 0) &&
                      json_is_number(x));
            if (!ok) {
                *err = sw_xasprintf("thresholds.%s: bad or unknown key '%s' (max, max_increase, "
                                    "max_relative_increase, dry_run)",
                                    key, k2);
                rc = -1;
                goto done;
            }
        }
        sw_metric_rule *r = add_rule(rules, n, key);
        r->max = opt_num(v, "max");
        r->max_increase = opt_num(v, "max_increase");
        r->max_relative_increase = opt_num(v, "max_relative_increase");
        r->dry_run = json_is_true(json_object_get(v, "dry_run"));
    }
done:
    json_decref(ms);
    json_decref(th);
    if (rc) {
        sw_monitor_rules_free(*rules, *n);
        *rules = NULL;
        *n = 0;
    }
    return rc;
}

void sw_monitor_rules_free(sw_metric_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)rules[i].metric);
    free(rules);
}
