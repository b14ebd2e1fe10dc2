/*
 * evidence.h - whether a metric's samples so far could have shown the smallest
 * regression the pipeline must not miss (the metric's `min_effect`) with the
 * monitor's `power`, by the test the judge ran at this look's level: the
 * sample-size computation of core/stats/power.h for that test. Pure, unit-tested.
 *
 *   rates    the two-proportion z test (Fisher's exact test, used on small
 *            counts, is held to the z test's sizes: an approximation). min_effect
 *            is absolute (0.03: +3 points); the margin is max_increase. The
 *            baseline's rate planned for is the point of its Wilson 95% interval
 *            nearest 0.5 - min_effect / 2 (the largest variance it can have), so
 *            a baseline lucky to show no events yet does not make the candidate
 *            look ready early.
 *   latency  the Hodges-Lehmann shift over the allowed margin (max_relative_increase
 *            of the baseline's median); min_effect is relative to that median
 *            (0.5: +50%). The shift's standard error is read off the interval the
 *            judge computed: (high - low) / (2 z_{1-level}).
 *
 * The level is this look's (sequential.h), not the overall alpha: the chance that
 * this look alone rejects is a lower bound on the whole sequence's, so "enough"
 * errs on the side of waiting. Other tests (relative change of summaries) have no
 * power computation: a guarded metric judged by one never has enough evidence.
 *
 * A second way to have enough: the regression is ruled out. When the one-sided
 * upper confidence bound of the candidate's difference at this look's level is
 * under min_effect, a regression that large would have shown up as that bound
 * with probability at most the level, so over all looks at most alpha (the looks'
 * levels are spent from it). That is the non-inferiority test, stronger than the
 * power condition (1 - alpha > power), and it lets a candidate that is clearly
 * better (a cheaper model, a faster prompt) leave a step without the samples the
 * power computation plans for a candidate that might be worse by just the margin.
 * The bound: rates, Newcombe's hybrid score interval (Wilson intervals of each
 * arm); the rank test, the upper end of the judge's Hodges-Lehmann interval over
 * the baseline's median.
 */
#ifndef SW_MONITOR_EVIDENCE_H
#define SW_MONITOR_EVIDENCE_H

#include <jansson.h>

#include "judge.h"

typedef struct sw_evidence {
    int enough;          /* detectable <= min_effect, or ruled_out */
    int ruled_out;       /* upper < min_effect */
    int relative;        /* effects relative to the baseline (latency), else absolute (rates) */
    double min_effect;   /* the smallest regression to detect */
    double power, level; /* asked for; this look's test level */
    double detectable;   /* the smallest effect these samples see with that power; INFINITY */
    double observed;     /* the candidate's difference, in the same unit; NaN: none */
    double upper;        /* its one-sided upper confidence bound at level; NaN: none */
    double required;     /* samples per arm, equal arms; INFINITY: never */
    double required_candidate; /* candidate samples needed with the baseline's so far */
    double n_candidate, n_baseline;
    const char *test; /* the test the sizes are for */
    char *why;        /* why nothing could be computed (malloc'd), or NULL */
} sw_evidence;

/* Rates: xb of nb baseline events, xc of nc candidate's; margin = max_increase. */
void sw_evidence_rate(double min_effect, double power, double level, double margin, double xb,
                      double nb, double xc, double nc, sw_evidence *out);
/* The rank test: the Hodges-Lehmann shift and its interval [lo, hi] at confidence
   1 - 2 level, the baseline's median, the allowed shift (ms), the sample sizes. */
void sw_evidence_shift(double min_effect, double power, double level, double shift, double lo,
                       double hi, double median, double allowed, double nb, double nc,
                       sw_evidence *out);
/* No computation: why (copied) says what is missing. */
void sw_evidence_none(double min_effect, double power, int relative, const char *why,
                      sw_evidence *out);
void sw_evidence_free(sw_evidence *e);

/* {"enough", "ruled_out", "min_effect", "power", "level", "detectable", "observed", "upper",
   "required", "required_candidate", "n_candidate", "n_baseline", "unit", "test", "line", and
   "why"};
   an infinite or unknown number is null. A new reference. */
json_t *sw_evidence_json(const char *metric, const sw_evidence *e);

/* The report's sentence, malloc'd: "task failure rate: could detect +3.0 points with 80%
   power; observed +0.4", or "cost per session: ruled out +10% (upper bound -31%, one-sided
   at level 0.01); observed -58%", with what is still missing when it is not enough. */
char *sw_evidence_line(const char *metric, const sw_evidence *e);

#endif
