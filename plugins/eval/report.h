/*
 * report.h - what an eval leaves behind: the typed outputs' values,
 * eval-summary.json, junit.xml and the run report's section.
 *
 *   eval.jsonl           one line per finished sample, written as it finishes
 *                        (runner.h); eval-baseline.jsonl likewise
 *   eval-summary.json    the outputs, spend, transport counts, the regression
 *                        statistics and the provenance
 *   junit.xml            one testcase per case (its samples folded in):
 *                        <failure> with the failing assertions' messages,
 *                        <error> for ERROR, <skipped> for a case not run
 *   report-section.json  the eval's section of the run's report.json and
 *                        report.html (section.c): summary cards, the cases
 *                        (FAIL and ERROR first, at most EV_SECTION_MAX_ROWS),
 *                        the flips against the baseline, a latency histogram,
 *                        provenance
 *
 * Provenance in every report: the dataset's path and SHA-256, the release
 * ids, the judge model and the hash of its prompt, the price tables.
 * No report holds an API key.
 */
#ifndef EV_REPORT_H
#define EV_REPORT_H

#include "runner.h"

/* The typed outputs of the stage (the list, plus pass@k and pass^k). */
typedef struct ev_metrics {
    int64_t cases, passed, failed, errors;
    double pass_rate;                      /* passed / (passed + failed): of what was measured */
    double error_rate;                     /* errors / cases */
    double score_mean;                     /* over measured cases */
    double latency_p50_ms, latency_p95_ms; /* over samples that were not ERROR */
    int64_t tokens_in, tokens_out;         /* the candidate's */
    double cost_usd, cost_per_case_usd;    /* the candidate's */
    double pass_at_k, pass_all_k;
    int has_baseline;
    int64_t regressions, improvements;
    double mcnemar_p;
    int noninferior;
    /* Production beside the candidate, measured in the same run on the same
       cases, so load on the provider or the machine weighs on both alike.
       NaN without a baseline; a ratio is NaN too when production's value is
       0 (no price table, no answer measured): nothing to compare against. */
    int baseline_ran; /* production ran beside the candidate (not so on a first release) */
    double base_cost_per_case_usd, base_latency_p95_ms;
    double cost_ratio; /* cost_per_case_usd / base_cost_per_case_usd */
    double cost_ratio_lo,
        cost_ratio_hi;        /* the bootstrap interval of cost per sample's (runner.h) */
    double latency_p95_ratio; /* latency_p95_ms / base_latency_p95_ms */
    double latency_p95_ratio_lo, latency_p95_ratio_hi; /* its bootstrap interval (runner.h) */
} ev_metrics;

void ev_metrics_of(const ev_results *res, ev_metrics *m);

typedef struct ev_report_in {
    const ev_config *cfg;
    const ev_results *res;
    const json_t *provenance; /* {dataset, releases, judge, pricing} */
    const json_t *settings;   /* the parameters that shaped the run, secrets left out */
    const char *stage_id;
    const char *run_id;
    const char *failure; /* why the stage fails, or NULL: the section's status */
} ev_report_in;

json_t *ev_summary_json(const ev_report_in *in);
int ev_write_summary(const ev_report_in *in, const char *path, sw_err *err);
int ev_write_junit(const ev_report_in *in, const char *path, sw_err *err);

/* Rows per table of the section; what is left out is counted in the table's note. */
#define EV_SECTION_MAX_ROWS 1000
/* The section as JSON, tables capped at max_rows rows. New reference. */
json_t *ev_section_json(const ev_report_in *in, size_t max_rows);
int ev_write_section(const ev_report_in *in, const char *path, sw_err *err);

#endif
