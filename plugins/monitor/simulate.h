/*
 * simulate.h - canaries on synthetic streams, in process, through the monitor's own
 * judge (judge.h) and evidence (evidence.h): how often a healthy candidate is rolled
 * back (false alarms), and how often a candidate worse by its min_effect is caught
 * before the evidence says it could be promoted (power). Used by the unit test that
 * holds these to alpha and power (tests/unit/check_monitor_sim.c) and by the bench
 * that draws their curves (bench/bench_monitor_power.c); not part of the stage.
 *
 * Each run draws, at every look, new samples for both arms from a seeded sw_rng and
 * judges everything seen so far, as the monitor judges the window since it started:
 *   rates    Bernoulli events at base_value, the candidate's at base_value + effect;
 *   samples  (latency, cost or tokens per session: the rank test) log-normal values
 *            with median base_value (sigma `spread` on the log scale, 0.5 unless set),
 *            the candidate's moved by effect x base_value (a shift in location).
 * A run ends at the first look that fails the metric (a rollback), at the first with
 * enough evidence when stop_at_evidence is set (a promotion), or after `looks` (by default
 * max_looks; more plays a step that waits past the plan: inconclusive with
 * stop_at_evidence; otherwise the healthy end of a full canary).
 */
#ifndef SW_MONITOR_SIMULATE_H
#define SW_MONITOR_SIMULATE_H

#include <stdint.h>

#include "stats/sequential.h"

typedef struct sw_sim_plan {
    const char *metric;  /* a rate such as "task_failure_rate", "latency_p95", "cost_per_session" */
    double base_value;   /* the baseline's rate, or its samples' median (ms, USD) */
    double effect;       /* the candidate's true change: absolute (rates), relative (samples) */
    double min_effect;   /* the rule's; <= 0: not guarded */
    double max_increase; /* the rule's margin; NaN: the judge's default */
    double max_relative_increase; /* the rank test's allowed shift; <= 0: the judge's 20% */
    double spread;                /* the samples' sigma on the log scale; <= 0: 0.5 */
    double alpha, power;          /* the stage's */
    sw_spending spending;         /* how alpha is spent over max_looks */
    int naive;                    /* test every look at alpha (what the spending prevents) */
    int max_looks;                /* planned */
    int looks;                    /* looks a run may take, past the plan too; 0: max_looks */
    int per_look_candidate, per_look_baseline; /* new samples per look */
    int stop_at_evidence;
} sw_sim_plan;

typedef struct sw_sim_result {
    int runs;
    int rolled_back;  /* the metric failed at some look */
    int promoted;     /* enough evidence came first (stop_at_evidence) */
    int inconclusive; /* neither by the last look */
    double looks;     /* mean looks per run */
} sw_sim_result;

/* runs canaries from seed; the same plan and seed give the same result. */
void sw_sim_run(const sw_sim_plan *plan, int runs, uint64_t seed, sw_sim_result *out);

#endif
