/*
 * power.h - how many samples a comparison needs to see a given regression, and
 * what regression the samples seen so far could show: the sample-size and power
 * computations behind the monitor's "enough evidence" (plugins/monitor).
 *
 * Every test here is one-sided at level alpha, as the monitor asks only "is the
 * candidate worse?"; "a" is the baseline, "b" the candidate, as in proptest.h.
 * Power is the chance that the test rejects when the candidate really is worse by
 * the effect. Sample counts are doubles so a caller can pass counts it added up
 * from a source; they are rounded up only where a per-arm count is returned.
 *
 * Two families, one per kind of test the monitor runs:
 *
 *   Two proportions (error rates, task failure), the two-proportion z test with
 *   pooled variance, baseline rate p, candidate rate p + delta (Fleiss, Levin and
 *   Paik, Statistical Methods for Rates and Proportions, 3rd ed., 4.2, without the
 *   continuity correction, as R's power.prop.test):
 *       power = Phi((delta - max(z_{1-alpha} sqrt(pbar qbar (1/na + 1/nb)), margin))
 *                   / sqrt(p q / na + (p + delta)(q - delta) / nb)),
 *   pbar the rate pooled with the arms' weights, margin the increase the observed
 *   difference must also exceed (the monitor's max_increase; 0 in the textbook). Example: p = 0.02
 * vs 0.05, alpha 0.025 one-sided (0.05 two-sided), power 0.8: 587.9, so 588 per arm.
 *
 *   A shift with a margin (latency, judged by the Hodges-Lehmann shift of the
 *   candidate's sample over the baseline's): the test rejects when the shift's
 *   lower confidence bound is above the allowed margin; with the estimate's
 *   standard error sigma sqrt(1/na + 1/nb),
 *       power = Phi((delta - margin) / (sigma sqrt(1/na + 1/nb)) - z_{1-alpha}).
 *   Example: sigma 1, delta 0.5, no margin, alpha 0.025 one-sided, power 0.8: the
 *   textbook 2 (2.8016 / 0.5)^2 = 62.8, so 63 per arm.
 *
 * The *_n functions give the samples per arm with equal arms; the *_n_given ones
 * the candidate's samples when the baseline already has n_other (a canary sends
 * the candidate a small share, so its baseline is the larger arm); the *_mde ones
 * the smallest effect the samples seen detect with that power. INFINITY means
 * never: the effect is at or under the margin, a rate would leave [0, 1], or the
 * other arm alone is too small for any number of candidate samples.
 */
#ifndef SW_STATS_POWER_H
#define SW_STATS_POWER_H

/* The power of the one-sided two-proportion z test to see p -> p + delta. 0 when
   an arm is empty or p + delta is outside [0, 1]. */
double sw_power_two_prop(double p, double delta, double margin, double na, double nb, double alpha);
/* Samples per arm (equal arms, rounded up) for that power. */
double sw_power_two_prop_n(double p, double delta, double margin, double alpha, double power);
/* The candidate's samples (rounded up) with na baseline samples. */
double sw_power_two_prop_n_given(double p, double delta, double margin, double na, double alpha,
                                 double power);
/* The smallest delta in (0, 1 - p] the arms see with that power. */
double sw_power_two_prop_mde(double p, double margin, double na, double nb, double alpha,
                             double power);

/* The power of the one-sided shift test (see above); 0 when an arm is empty. */
double sw_power_shift(double delta, double margin, double sigma, double na, double nb,
                      double alpha);
double sw_power_shift_n(double delta, double margin, double sigma, double alpha, double power);
double sw_power_shift_n_given(double delta, double margin, double sigma, double na, double alpha,
                              double power);
/* margin + (z_{1-alpha} + z_power) sigma sqrt(1/na + 1/nb). */
double sw_power_shift_mde(double margin, double sigma, double na, double nb, double alpha,
                          double power);

#endif
