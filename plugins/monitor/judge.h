/*
 * judge.h - the monitor's judgement of one metric, candidate vs baseline, from
 * two version objects of the router's /admin/stats. Pure: no I/O, unit-tested.
 *
 * Rates (error_rate, tool_error_rate, task_failure_rate, feedback_negative_rate)
 * are compared with Fisher's exact test when a cell of the 2x2 table is
 * expected below 5, else the two-proportion z test, one-sided (the candidate
 * worse), at the level alpha spending gives this look. Quantities the stats
 * API gives only as summaries (latency and TTFT quantiles, cost and tokens per
 * request) are judged by their relative change against the threshold.
 */
#ifndef SW_MONITOR_JUDGE_H
#define SW_MONITOR_JUDGE_H

#include <jansson.h>

#include "stats/sequential.h"

typedef enum sw_verdict {
    SW_VERDICT_PASS = 0,
    SW_VERDICT_FAIL,
    SW_VERDICT_INCONCLUSIVE
} sw_verdict;

const char *sw_verdict_name(sw_verdict v);

/* One metric's rule, from `thresholds:` (a NaN field is unset). */
typedef struct sw_metric_rule {
    const char *metric;
    double max;          /* the candidate's value above this fails, test or not */
    double max_increase; /* allowed absolute increase over the baseline (rates); default 0 */
    double max_relative_increase; /* allowed relative increase (summaries); default 0.2 */
    int dry_run;                  /* judged and reported, never aborts */
} sw_metric_rule;

typedef struct sw_judge_opts {
    double alpha; /* overall false-alarm rate, e.g. 0.05 */
    sw_spending spending;
    int look;      /* this look, 1-based (looks with enough samples only) */
    int max_looks; /* planned looks */
    int64_t min_samples;
} sw_judge_opts;

/* Known metric names, NULL-terminated. */
extern const char *const sw_monitor_metrics[];
int sw_monitor_metric_known(const char *name);

/* The metric's value in a stats version object (NULL: an absent version: 0
   samples). *n receives the sample count behind it. */
double sw_metric_value(const char *metric, const json_t *version, double *n);

/*
 * Judge a metric. *snapshot receives {"metric", "candidate", "baseline",
 * "n_candidate", "n_baseline", "test", "p", "alpha", "verdict", "dry_run"}
 * (a new reference), *reason a malloc'd sentence naming the metric, both
 * values, the test with its p-value and level, and the threshold.
 */
sw_verdict sw_judge_metric(const sw_metric_rule *rule, const json_t *cand, const json_t *base,
                           const sw_judge_opts *o, json_t **snapshot, char **reason);

/* Parse `thresholds:` (a JSON object metric -> {max, max_increase,
   max_relative_increase, dry_run}) and `metrics:` (a list) into rules; a metric
   only in thresholds is judged too. -1 with err text (malloc'd). */
int sw_monitor_rules_parse(const char *metrics_json, const char *thresholds_json,
                           sw_metric_rule **rules, size_t *n, char **err);
void sw_monitor_rules_free(sw_metric_rule *rules, size_t n);

#endif
