/*
 * runner.h - running a dataset against the candidate (and the baseline).
 *
 * Every (case, side, sample) is a job: target requests (the agent loop),
 * then one judge request per llm-rubric assertion, then the verdict. Jobs
 * start in dataset order and at most a small multiple of the concurrency
 * are alive at once, so memory does not grow with the dataset. Each job's
 * result is appended to eval.jsonl (eval-baseline.jsonl for the baseline)
 * as it finishes, and only a compact record of it is kept.
 *
 * A case's outcome over its k samples: ERROR when any sample is ERROR,
 * PASS when all passed (pass^k), FAIL otherwise; its score is the mean of
 * the samples' scores. pass@k counts cases with at least one passing sample.
 *
 * Spend (tokens and USD over the candidate, the baseline and the judge) is
 * checked against the caps after every response: once a cap is reached no
 * request is sent any more; jobs that had sent nothing yet, and cases not
 * started, are not run; jobs cut off midway (an agent loop, a judge) end as
 * ERROR. Cancellation aborts transfers at once; only jobs that
 * finished before it are reported.
 *
 * Ownership: ev_run fills an ev_results released with ev_results_clear.
 */
#ifndef EV_RUNNER_H
#define EV_RUNNER_H

#include "cache.h"
#include "dataset.h"
#include "regression.h"
#include "scheduler.h"
#include "target.h"

enum { EV_CAND = 0, EV_BASE = 1 };

typedef struct ev_config {
    ev_dataset *ds;
    ev_target target;
    ev_release rel[2]; /* candidate, baseline */
    int has_baseline;
    int repeat;
    /* the judge */
    char *judge_model;       /* NULL: no llm-rubric allowed */
    sw_proto_id judge_proto; /* the protocol it is called in */
    ev_target judge;         /* where: judge.ep[judge_proto] */
    ev_pricing judge_pricing;
    ev_sched_opts sched;
    double max_usd;     /* 0: no cap */
    int64_t max_tokens; /* 0: no cap */
    double margin, confidence;
    size_t resamples;
    uint64_t seed;
    char *out_path[2]; /* eval.jsonl, eval-baseline.jsonl */
    /* The host, through callbacks (any may be NULL). */
    void (*log)(void *ud, int level, const char *message);
    void (*progress)(void *ud, double fraction, const char *note);
    int (*cancelled)(void *ud);
    void *ud;
} ev_config;

/* One finished (side, case, sample). */
typedef struct ev_trial {
    uint8_t done;
    uint8_t outcome; /* ev_outcome */
    double score;
    double latency_ms;
    double cost_usd; /* of every model call of the sample */
    uint64_t hash;   /* ev_output_hash */
    int64_t row_off; /* where its line is in the side's jsonl */
    uint32_t row_len;
} ev_trial;

typedef struct ev_side {
    size_t cases; /* cases whose every sample finished */
    size_t passed, failed, errors;
    size_t pass_any; /* measured cases with at least one passing sample */
    double score_sum;
    int64_t tokens_in, tokens_out;
    double cost_usd;
    int cost_unknown, usage_missing;
    size_t trials, trial_errors;
    double *latencies; /* of trials that were not ERROR, sorted */
    size_t n_latencies;
} ev_side;

typedef struct ev_results {
    size_t planned; /* cases selected */
    size_t not_run; /* cases with a sample that never finished */
    int k, sides;
    ev_trial *trials; /* [side][case][sample] */
    ev_side side[2];
    int64_t judge_in, judge_out;
    double judge_usd;
    size_t judge_calls;
    double total_usd;
    int64_t total_tokens;
    double worst_usd;
    int64_t worst_tokens;
    int budget_hit;
    int cancelled;
    char stop_reason[512];
    ev_regression reg;
    int has_reg;
    /* Paired percentile bootstrap intervals (at the regression's confidence,
       resamples and seed) of the candidate's latency p95 over the baseline's
       and of its mean cost per sample over the baseline's, resampling the
       cases that no side has an ERROR sample in; NaN without a baseline or
       such a case. */
    double latency_ratio_lo, latency_ratio_hi;
    double cost_ratio_lo, cost_ratio_hi;
    double elapsed_ms;
    ev_pool_stats pool[EV_POOLS];
    int64_t retry_budget_left;
} ev_results;

/* The worst case of the run as configured (logged before it starts). */
void ev_worst_case(const ev_config *cfg, double *usd, int64_t *tokens);
/* 0 when the run could be made (whatever its verdicts); -1 with err when it
   could not start (output files) or a result could not be written. */
int ev_run(const ev_config *cfg, ev_results *res, sw_err *err);
void ev_results_clear(ev_results *res);

/* The trial of (side, case, sample). */
const ev_trial *ev_trial_at(const ev_results *res, int side, size_t c, int sample);
/* A case's aggregated outcome and score on one side; 0 when not every sample finished. */
int ev_case_result(const ev_results *res, int side, size_t c, ev_outcome *o, double *score);

#endif
