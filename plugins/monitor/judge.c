/* judge.c - one metric, candidate vs baseline. */
#include "judge.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "evidence.h"
#include "stats/proptest.h"
#include "stats/quantile.h"
#include "stats/ranktest.h"

const char *const sw_monitor_metrics[] = {"error_rate",
                                          "tool_error_rate",
                                          "task_failure_rate",
                                          "feedback_negative_rate",
                                          "latency_p50",
                                          "latency_p95",
                                          "latency_p99",
                                          "ttft_p50",
                                          "ttft_p95",
                                          "cost_per_request",
                                          "tokens_per_request",
                                          "cost_per_session",
                                          "tokens_per_session",
                                          "shadow_different_rate",
                                          "shadow_disagreement_rate",
                                          "shadow_text_disagreement_rate",
                                          "shadow_tool_disagreement_rate",
                                          NULL};

static const char *const policy_names[] = {"default", "continue", "hold", "extend", "rollback"};

const char *sw_verdict_name(sw_verdict v)
{
    return v == SW_VERDICT_FAIL ? "fail" : v == SW_VERDICT_INCONCLUSIVE ? "inconclusive" : "pass";
}

int sw_mon_policy_parse(const char *name, sw_mon_policy *out)
{
    for (int i = SW_POLICY_CONTINUE; i <= SW_POLICY_ROLLBACK; i++)
        if (name && strcmp(name, policy_names[i]) == 0) {
            *out = (sw_mon_policy)i;
            return 0;
        }
    return -1;
}

const char *sw_mon_policy_name(sw_mon_policy p)
{
    return (unsigned)p <= SW_POLICY_ROLLBACK ? policy_names[p] : "?";
}

int sw_monitor_metric_known(const char *name)
{
    for (size_t i = 0; sw_monitor_metrics[i]; i++)
        if (strcmp(sw_monitor_metrics[i], name) == 0)
            return 1;
    return 0;
}

int sw_metric_is_shadow_pairs(const char *m)
{
    return strncmp(m, "shadow_", 7) == 0 && strstr(m, "disagreement_rate") != NULL;
}

static int candidate_only(const char *m)
{
    return strcmp(m, "shadow_different_rate") == 0 || sw_metric_is_shadow_pairs(m);
}

int sw_metric_is_rate(const char *m)
{
    size_t n = strlen(m);
    return n > 5 && strcmp(m + n - 5, "_rate") == 0;
}

static double num(const json_t *o, const char *a, const char *b)
{
    const json_t *j = json_object_get(o, a);
    if (b)
        j = json_object_get(j, b);
    return json_is_number(j) ? json_number_value(j) : 0;
}

/* Rates as counts: *x of *n. 1 when the metric is a rate of the stats. */
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
    if (strcmp(m, "cost_per_session") == 0 || strcmp(m, "tokens_per_session") == 0) {
        double sessions = num(v, "sessions", NULL);
        *n = sessions; /* min_samples counts sessions here */
        return sessions > 0 ? num(v, m, NULL) : 0;
    }
    return 0;
}

void sw_obs_from_stats(const char *m, const json_t *v, sw_obs *o, double **buf)
{
    *o = (sw_obs){.value = NAN, .n = 0, .x = NAN};
    *buf = NULL;
    if (sw_metric_is_shadow_pairs(m))
        return; /* not in the stats: the pairs source measures them */
    double x, n;
    o->value = sw_metric_value(m, v, &o->n);
    if (rate_counts(m, v, &x, &n))
        o->x = x;
    const char *key = strncmp(m, "latency_", 8) == 0         ? "latency_samples"
                      : strncmp(m, "ttft_", 5) == 0          ? "ttft_samples"
                      : strcmp(m, "cost_per_session") == 0   ? "cost_per_session_samples"
                      : strcmp(m, "tokens_per_session") == 0 ? "tokens_per_session_samples"
                                                             : NULL;
    const json_t *s = key ? json_object_get(v, key) : NULL;
    if (json_is_array(s) && json_array_size(s)) {
        size_t k = 0;
        *buf = sw_xmalloc(json_array_size(s) * sizeof **buf);
        for (size_t i = 0; i < json_array_size(s); i++)
            if (json_is_number(json_array_get(s, i)))
                (*buf)[k++] = json_number_value(json_array_get(s, i));
        o->samples = *buf;
        o->n_samples = k;
    }
    if (strncmp(m, "ttft_", 5) == 0 && !json_is_object(json_object_get(v, "ttft_ms")))
        o->n = 0; /* no streamed answer yet: no TTFT at all */
}

/* "look 12 of 60", or past the plan (the alpha spent stays the last look's) "look 65,
   past the 60 planned". */
static const char *look_text(char *buf, size_t size, int look, int max_looks)
{
    if (look > max_looks)
        snprintf(buf, size, "look %d, past the %d planned", look, max_looks);
    else
        snprintf(buf, size, "look %d of %d", look, max_looks);
    return buf;
}

sw_verdict sw_judge_obs(const sw_metric_rule *r, const sw_obs *cand, const sw_obs *base,
                        const sw_judge_opts *o, json_t **snapshot, char **reason)
{
    const char *m = r->metric;
    double vc = cand->value, vb = base->value, nc = cand->n, nb = base->n;
    int is_rate = sw_metric_is_rate(m);
    /* The shadow comparisons have no baseline: only the absolute threshold applies. */
    int only = candidate_only(m);
    double level = sw_look_alpha(o->spending, o->alpha, o->look, o->max_looks);
    const char *test = "none";
    double p = NAN, shift = NAN, lo = NAN, hi = NAN, allowed = NAN, threshold = NAN, med = NAN;
    double xc = NAN, xb = NAN; /* a rate's events, once tested */
    sw_verdict v = SW_VERDICT_PASS;
    char *why = NULL;
    char lk[64];
    double min = (double)o->min_samples;
    double inc = isnan(r->max_increase) ? 0 : r->max_increase;
    double rel = isnan(r->max_relative_increase) ? 0.2 : r->max_relative_increase;
    int no_cand = isnan(vc), no_base = !only && isnan(vb);

    if (!isnan(r->max))
        threshold = r->max;
    else if (only)
        threshold = inc;
    else if (!isnan(vb) && is_rate)
        threshold = vb + inc;
    else if (!isnan(vb))
        threshold = vb * (1 + rel);

    if (!isnan(r->max) && !no_cand && nc >= min && vc > r->max) {
        v = SW_VERDICT_FAIL;
        test = "threshold";
        why = only ? sw_xasprintf("%s: candidate %.4g over the threshold max %.4g (%.0f samples; "
                                  "no baseline)",
                                  m, vc, r->max, nc)
                   : sw_xasprintf("%s: candidate %.4g over the threshold max %.4g (baseline %.4g; "
                                  "%.0f and %.0f samples)",
                                  m, vc, r->max, vb, nc, nb);
    } else if (no_cand || no_base) {
        v = SW_VERDICT_INCONCLUSIVE;
        why = sw_xasprintf("%s: no data for the %s", m,
                           no_cand && no_base ? "candidate nor the baseline"
                           : no_cand          ? "candidate"
                                              : "baseline");
    } else if (nc < min || (!only && nb < min)) {
        v = SW_VERDICT_INCONCLUSIVE;
        why = only ? sw_xasprintf("%s: too few samples (candidate %.0f; need %lld)", m, nc,
                                  (long long)o->min_samples)
                   : sw_xasprintf("%s: too few samples (candidate %.0f, baseline %.0f; need %lld)",
                                  m, nc, nb, (long long)o->min_samples);
    } else if (only) {
        if (isnan(r->max) && vc > inc) {
            v = SW_VERDICT_FAIL;
            test = "threshold";
            why = sw_xasprintf("%s: candidate %.4g (%.0f samples) over the threshold: baseline 0 "
                               "plus max_increase %.4g",
                               m, vc, nc, inc);
        }
    } else if (is_rate) {
        xc = isnan(cand->x) ? round(vc * nc) : cand->x;
        xb = isnan(base->x) ? round(vb * nb) : base->x;
        double tc = nc, tb = nb;
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
                               "one-sided p = %.3g < alpha %.3g (%s, %s); threshold "
                               "max_increase %.4g exceeded by %.4g",
                               m, vc, xc, tc, vb, xb, tb, test, p, level,
                               look_text(lk, sizeof lk, o->look, o->max_looks),
                               sw_spending_name(o->spending), inc, vc - vb - inc);
        } else if (worse && p < o->alpha) {
            v = SW_VERDICT_INCONCLUSIVE;
            why = sw_xasprintf("%s: candidate %.4g vs baseline %.4g; %s p = %.3g is below %.3g but "
                               "not below this look's alpha %.3g",
                               m, vc, vb, test, p, o->alpha, level);
        }
    } else if (cand->samples && base->samples && (double)cand->n_samples >= fmax(min, 2) &&
               (double)base->n_samples >= fmax(min, 2)) {
        sw_mwu_result mw;
        test = "Mann-Whitney U";
        sw_mann_whitney(base->samples, base->n_samples, cand->samples, cand->n_samples, &mw);
        p = mw.p_greater;
        /* The samples' unit: latency and TTFT in ms, else cost (USD) or tokens per session. */
        const char *u = strncmp(m, "cost_", 5) == 0     ? "USD"
                        : strncmp(m, "tokens_", 7) == 0 ? "tokens"
                                                        : "ms";
        /* The interval whose lower end is a one-sided bound at this look's level. */
        double conf = 1 - 2 * fmax(level, 1e-15);
        if (sw_hodges_lehmann(base->samples, base->n_samples, cand->samples, cand->n_samples, conf,
                              &shift, &lo, &hi) < 0) {
            v = SW_VERDICT_INCONCLUSIVE;
            why = sw_xasprintf("%s: too many samples for the Hodges-Lehmann estimate (%zu x %zu)",
                               m, base->n_samples, cand->n_samples);
        } else {
            med = sw_quantile(base->samples, base->n_samples, 0.5);
            allowed = rel * med;
            threshold = vb + allowed;
            if (p < level && lo > allowed) {
                v = SW_VERDICT_FAIL;
                why =
                    sw_xasprintf("%s: candidate %.4g vs baseline %.4g; Hodges-Lehmann shift %+.4g "
                                 "%s [%.4g, %.4g] (%.4g%% interval), Mann-Whitney U one-sided p = "
                                 "%.3g < alpha %.3g (%s, %s; %zu and %zu samples); "
                                 "threshold max_relative_increase %+.1f%% of the baseline median "
                                 "%.4g = %.4g %s; observed %+.1f%% of it",
                                 m, vc, vb, shift, u, lo, hi, conf * 100, p, level,
                                 look_text(lk, sizeof lk, o->look, o->max_looks),
                                 sw_spending_name(o->spending), cand->n_samples, base->n_samples,
                                 rel * 100, med, allowed, u, med > 0 ? shift / med * 100 : NAN);
            } else if (shift > allowed) {
                v = SW_VERDICT_INCONCLUSIVE;
                why =
                    sw_xasprintf("%s: candidate %.4g vs baseline %.4g; Hodges-Lehmann shift %+.4g "
                                 "%s [%.4g, %.4g] is over the allowed %.4g %s but not shown at "
                                 "this look's alpha %.3g (Mann-Whitney U p = %.3g)",
                                 m, vc, vb, shift, u, lo, hi, allowed, u, level, p);
            } else {
                why =
                    sw_xasprintf("%s: candidate %.4g vs baseline %.4g; Hodges-Lehmann shift %+.4g "
                                 "%s [%.4g, %.4g], allowed %.4g %s (Mann-Whitney U p = %.3g): "
                                 "pass",
                                 m, vc, vb, shift, u, lo, hi, allowed, u, p);
            }
        }
    } else {
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
    json_t *s = json_pack("{s:s, s:o, s:o, s:f, s:f, s:s, s:f, s:s, s:b}", "metric", m, "candidate",
                          isnan(vc) || isinf(vc) ? json_null() : json_real(vc), "baseline",
                          isnan(vb) || isinf(vb) ? json_null() : json_real(vb), "n_candidate", nc,
                          "n_baseline", nb, "test", test, "alpha", level, "verdict",
                          sw_verdict_name(v), "dry_run", r->dry_run);
    json_object_set_new(s, "p", isnan(p) ? json_null() : json_real(p));
    json_object_set_new(s, "threshold",
                        isnan(threshold) || isinf(threshold) ? json_null() : json_real(threshold));
    if (!isnan(shift)) {
        json_object_set_new(s, "shift", json_real(shift));
        json_object_set_new(s, "ci_low", json_real(lo));
        json_object_set_new(s, "ci_high", json_real(hi));
        json_object_set_new(s, "allowed_shift", json_real(allowed));
    }
    if (r->min_effect > 0) {
        sw_evidence e;
        if (!isnan(xc))
            sw_evidence_rate(r->min_effect, o->power, level, inc, xb, nb, xc, nc, &e);
        else if (!isnan(shift))
            sw_evidence_shift(r->min_effect, o->power, level, shift, lo, hi, med, allowed,
                              (double)base->n_samples, (double)cand->n_samples, &e);
        else
            sw_evidence_none(r->min_effect, o->power, !is_rate,
                             no_cand || no_base                     ? "no data yet"
                             : nc < min || nb < min                 ? "too few samples"
                             : is_rate                              ? "not tested yet"
                             : strcmp(test, "relative change") == 0 ? "judged by relative change"
                                                                    : "no rank test yet",
                             &e);
        json_object_set_new(s, "evidence", sw_evidence_json(m, &e));
        sw_evidence_free(&e);
    }
    *snapshot = s;
    *reason = why;
    return v;
}

sw_verdict sw_judge_metric(const sw_metric_rule *r, const json_t *cand, const json_t *base,
                           const sw_judge_opts *o, json_t **snapshot, char **reason)
{
    sw_obs oc, ob;
    double *bc, *bb;
    sw_obs_from_stats(r->metric, cand, &oc, &bc);
    sw_obs_from_stats(r->metric, base, &ob, &bb);
    /* The stats give a value for an absent version too: zero samples behind it. */
    sw_verdict v = sw_judge_obs(r, &oc, &ob, o, snapshot, reason);
    free(bc);
    free(bb);
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
                          .max_relative_increase = NAN,
                          .min_effect = NAN};
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
                            "{max, max_increase, max_relative_increase, dry_run, on_fail, "
                            "on_inconclusive}");
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
            sw_mon_policy pol;
            int ok = (strcmp(k2, "dry_run") == 0 && json_is_boolean(x)) ||
                     ((strcmp(k2, "max") == 0 || strcmp(k2, "max_increase") == 0 ||
                       strcmp(k2, "max_relative_increase") == 0) &&
                      json_is_number(x)) ||
                     ((strcmp(k2, "on_fail") == 0 || strcmp(k2, "on_inconclusive") == 0) &&
                      sw_mon_policy_parse(json_string_value(x), &pol) == 0);
            if (!ok) {
                *err = sw_xasprintf("thresholds.%s: bad or unknown key '%s' (max, max_increase, "
                                    "max_relative_increase, dry_run, and on_fail and "
                                    "on_inconclusive: continue, hold, extend or rollback)",
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
        sw_mon_policy_parse(json_string_value(json_object_get(v, "on_fail")), &r->on_fail);
        sw_mon_policy_parse(json_string_value(json_object_get(v, "on_inconclusive")),
                            &r->on_inconclusive);
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

int sw_metric_has_power(const char *m)
{
    if (candidate_only(m))
        return 0;
    return sw_metric_is_rate(m) || sw_metric_has_samples(m);
}

int sw_metric_has_samples(const char *m)
{
    return strncmp(m, "latency_", 8) == 0 || strncmp(m, "ttft_", 5) == 0 ||
           strcmp(m, "cost_per_session") == 0 || strcmp(m, "tokens_per_session") == 0;
}

int sw_monitor_min_effect_parse(const char *min_effect_json, sw_metric_rule *rules, size_t n,
                                int strict, char **err)
{
    *err = NULL;
    json_t *me = json_loads(min_effect_json ? min_effect_json : "{}", 0, NULL);
    const char *key;
    json_t *v;
    int rc = 0;
    if (!json_is_object(me)) {
        *err = sw_xstrdup("min_effect must be a map of metric to the smallest regression to "
                          "detect");
        rc = -1;
    }
    json_object_foreach(me, key, v)
    {
        if (rc)
            break;
        if (!sw_monitor_metric_known(key) || !(json_is_number(v) || json_is_null(v))) {
            *err = sw_xasprintf("min_effect: unknown metric '%s' or not a number", key);
            rc = -1;
            break;
        }
        sw_metric_rule *r = NULL;
        for (size_t i = 0; i < n && !r; i++)
            if (strcmp(rules[i].metric, key) == 0)
                r = &rules[i];
        if (!r || json_is_null(v))
            continue; /* not judged, or not guarded */
        double e = json_number_value(v);
        int rate = sw_metric_is_rate(key);
        double margin = rate ? (isnan(r->max_increase) ? 0 : r->max_increase)
                             : (isnan(r->max_relative_increase) ? 0.2 : r->max_relative_increase);
        char *bad = NULL;
        if (!sw_metric_has_power(key))
            bad = sw_xasprintf("min_effect.%s: %s is judged by a test without a sample-size "
                               "computation (only rates with a baseline, latency, TTFT and "
                               "cost and tokens per session)",
                               key, key);
        else if (!(e > margin) || (rate && !(e < 1)))
            bad = sw_xasprintf("min_effect.%s: %g must be above the allowed increase %g (%s)%s",
                               key, e, margin, rate ? "max_increase" : "max_relative_increase",
                               rate ? " and below 1" : "");
        else
            r->min_effect = e;
        if (bad && strict) {
            free(*err);
            *err = bad;
            rc = -1;
        } else if (bad) { /* noted, and the metric is judged unguarded */
            char *all = *err ? sw_xasprintf("%s; %s", *err, bad) : sw_xstrdup(bad);
            free(*err);
            free(bad);
            *err = all;
        }
    }
    json_decref(me);
    return rc;
}
