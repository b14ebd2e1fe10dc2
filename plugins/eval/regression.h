/*
 * regression.h - the candidate against the baseline (production), paired by case.
 *
 * Each case has an outcome and a score for both releases (over its samples,
 * see runner.h). Cases where either side is ERROR (or did not finish) are
 * left out of the pairing and counted as excluded.
 *
 *   regressions   cases that passed on the baseline and fail on the candidate
 *   improvements  cases that failed on the baseline and pass on the candidate
 *   mcnemar_p     McNemar's exact two-sided p for those discordant counts
 *                 (stats/binom.h); 1 when there are none
 *   diff_mean     mean over paired cases of candidate score - baseline score
 *   [ci_lo, ci_hi] its percentile bootstrap interval at `confidence`
 *                 (stats/bootstrap.h: `resamples` rounds, `seed`)
 *   noninferior   ci_lo >= -margin: the candidate is no worse than the
 *                 baseline by more than the margin (a one-sided test at
 *                 level (1 - confidence) / 2). False with no paired case.
 *   changed       cases passing on both sides whose output (answer text and
 *                 tool calls of the first sample) differs: for human review.
 */
#ifndef EV_REGRESSION_H
#define EV_REGRESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct ev_pair {
    int done; /* both sides finished */
    ev_outcome cand, base;
    double cand_score, base_score;
    uint64_t cand_hash, base_hash;
} ev_pair;

typedef struct ev_regression {
    size_t paired, excluded;
    size_t both_pass, both_fail, regressions, improvements;
    double mcnemar_p;
    double diff_mean, ci_lo, ci_hi; /* NaN with no paired case */
    double confidence, margin;
    size_t resamples;
    uint64_t seed;
    int noninferior;
    size_t *regressed, *improved, *changed; /* case indexes, ascending */
    size_t n_changed;
} ev_regression;

int ev_regression_compute(const ev_pair *pairs, size_t n, double margin, double confidence,
                          size_t resamples, uint64_t seed, ev_regression *out, sw_err *err);
void ev_regression_clear(ev_regression *r);

#endif
