/*
 * judge.h - the monitor's judgement of one metric, candidate vs baseline. Pure:
 * no I/O, unit-tested.
 *
 * A source (source.h) measures each side of a metric as an sw_obs: a value,
 * the samples behind it, for rates the events among them, and for latency
 * and TTFT, when the source has them, raw samples.
 *
 * Rates (error_rate, tool_error_rate, task_failure_rate, feedback_negative_rate)
 * are compared with Fisher's exact test when a cell of the 2x2 table is
 * expected below 5, else the two-proportion z test, one-sided (the candidate
 * worse), at the level alpha spending gives this look. Latency and TTFT with
 * raw samples on both sides are compared with the one-sided Mann-Whitney U
 * test and the Hodges-Lehmann shift with its confidence interval, against an
 * allowed shift of max_relative_increase times the baseline's median; without
 * samples (and cost and tokens per request), by the relative change of the
 * summaries. The shadow metrics have no baseline: their value is held
 * against `max`, else against 0 plus `max_increase`.
 */
#ifndef SW_MONITOR_JUDGE_H
#define SW_MONITOR_JUDGE_H

#include <jansson.h>
#include <stddef.h>

#include "stats/sequential.h"

typedef enum sw_verdict {
    SW_VERDICT_PASS = 0,
    SW_VERDICT_FAIL,
    SW_VERDICT_INCONCLUSIVE
} sw_verdict;

const char *sw_verdict_name(sw_verdict v);

/* What to do about a metric's fail or inconclusive outcome (policy.h decides). */
typedef enum sw_mon_policy {
    SW_POLICY_DEFAULT = 0, /* the stage's on_fail / on_inconclusive */
    SW_POLICY_CONTINUE,    /* report only */
    SW_POLICY_HOLD,        /* output hold = true while the outcome lasts */
    SW_POLICY_EXTEND,      /* add one interval to output extend_ms per such look */
    SW_POLICY_ROLLBACK     /* fail the stage (inconclusive: when `duration` ends) */
} sw_mon_policy;

/* "continue", "hold", "extend" or "rollback"; -1 otherwise. */
int sw_mon_policy_parse(const char *name, sw_mon_policy *out);
const char *sw_mon_policy_name(sw_mon_policy p);

/* One metric's rule, from `thresholds:` (a NaN field is unset). */
typedef struct sw_metric_rule {
    const char *metric;
    double max;          /* the candidate's value above this fails, test or not */
    double max_increase; /* allowed absolute increase over the baseline (rates); default 0 */
    double max_relative_increase; /* allowed relative increase (summaries); default 0.2 */
    int dry_run;                  /* judged and reported, never acted on */
    sw_mon_policy on_fail, on_inconclusive;
    double min_effect; /* the smallest regression to detect (evidence.h); NaN or 0: not guarded */
} sw_metric_rule;

typedef struct sw_judge_opts {
    double alpha; /* overall false-alarm rate, e.g. 0.05 */
    sw_spending spending;
    int look;      /* this look, 1-based (looks with enough samples only) */
    int max_looks; /* planned looks */
    int64_t min_samples;
    double power; /* for a guarded metric's evidence, e.g. 0.8 */
} sw_judge_opts;

/* One side of one metric, as a source measured it. */
typedef struct sw_obs {
    double value;          /* NaN: no data */
    double n;              /* samples behind the value */
    double x;              /* rates: events among n; NaN: derive from value * n */
    const double *samples; /* latency / TTFT values in ms (not owned); NULL: none */
    size_t n_samples;
} sw_obs;

/* Known metric names, NULL-terminated. */
extern const char *const sw_monitor_metrics[];
int sw_monitor_metric_known(const char *name);
int sw_metric_is_rate(const char *metric);
/* The shadow pair metrics: no baseline (read from /admin/shadow). */
int sw_metric_is_shadow_pairs(const char *metric);

/* The metric's value in a stats version object (NULL: an absent version: 0
   samples). *n receives the sample count behind it. */
double sw_metric_value(const char *metric, const json_t *version, double *n);

/* The metric's observation in a stats version object; samples point into the
   version's "latency_samples" / "ttft_samples" (copied to *buf, to be freed). */
void sw_obs_from_stats(const char *metric, const json_t *version, sw_obs *o, double **buf);

/*
 * Judge a metric. *snapshot receives {"metric", "candidate", "baseline",
 * "n_candidate", "n_baseline", "test", "p", "alpha", "verdict", "dry_run",
 * "threshold"} and, for the rank test, "shift", "ci_low", "ci_high" and
 * "allowed_shift" (a new reference); *reason a malloc'd sentence naming the
 * metric, both values, the test with its p-value (or interval) and level, and
 * the threshold. "threshold" is the value the candidate must stay under
 * (null when there is none), for charts. A guarded rule (min_effect set) adds
 * "evidence" (evidence.h's sw_evidence_json).
 */
sw_verdict sw_judge_obs(const sw_metric_rule *rule, const sw_obs *cand, const sw_obs *base,
                        const sw_judge_opts *o, json_t **snapshot, char **reason);

/* sw_judge_obs on two version objects of the router's /admin/stats. */
sw_verdict sw_judge_metric(const sw_metric_rule *rule, const json_t *cand, const json_t *base,
                           const sw_judge_opts *o, json_t **snapshot, char **reason);

/* Parse `thresholds:` (a JSON object metric -> {max, max_increase,
   max_relative_increase, dry_run, on_fail, on_inconclusive}) and `metrics:` (a
   list) into rules; a metric only in thresholds is judged too. -1 with err text
   (malloc'd). */
int sw_monitor_rules_parse(const char *metrics_json, const char *thresholds_json,
                           sw_metric_rule **rules, size_t *n, char **err);
void sw_monitor_rules_free(sw_metric_rule *rules, size_t n);

/* The metrics whose test has a power computation (evidence.h): the rates with a
   baseline, and those judged by the rank test on raw samples. */
int sw_metric_has_power(const char *metric);
/* The metrics a source may give raw samples of, judged by the rank test when both sides
   have them: latency and TTFT (per request), cost and tokens per session. */
int sw_metric_has_samples(const char *metric);

/* Parse `min_effect:` (a JSON object metric -> number, or null: not guarded) onto the
   rules of the metrics judged; entries of metrics not judged are left out. A rate's
   effect is absolute and must be in (max_increase, 1); a latency's relative, above
   max_relative_increase. -1 with err text (malloc'd) for an unknown metric or a
   value that is not a number; also, when strict, for an effect that cannot apply (at
   or under the allowed increase, or a metric judged by a test without a power
   computation). Not strict (the stage's defaults), such an entry is left out and
   *err (malloc'd, else NULL) notes it while 0 is returned. */
int sw_monitor_min_effect_parse(const char *min_effect_json, sw_metric_rule *rules, size_t n,
                                int strict, char **err);

#endif
