/*
 * sequential.h - keeping the false-alarm rate of a monitor that looks at the
 * same comparison again and again. Testing every interval at 0.05 would raise
 * an alarm on a healthy candidate far more often than 5% of the time; instead
 * the overall alpha is spent across the planned number of looks.
 *
 * Two plans:
 *   BONFERRONI     each of the K looks tests at alpha / K.
 *   OBRIEN_FLEMING Lan-DeMets' O'Brien-Fleming-like spending function
 *                  alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t)), t = k / K:
 *                  look k tests at alpha(k/K) - alpha((k-1)/K). Early looks,
 *                  on few samples, spend almost nothing; later ones nearly alpha.
 * The K planned looks spend all of alpha but a tail (SW_SPEND_TAIL of it), in
 * the plan's shape; the tail is for a watch that runs past its plan (a canary
 * step waiting for evidence on little traffic): look K + j tests at
 * tail / (j (j + 1)), which sums to the tail however many looks follow. So the
 * levels of all looks, planned or not, sum to alpha, and by the union bound the
 * chance of any false alarm is at most alpha, whatever the correlation between
 * looks (conservative: proper group-sequential boundaries would use the
 * correlation to spend a little more). A level past K falls like 1 / j^2, so
 * the samples a test needs grow only like log j while they keep coming in
 * linearly: evidence goes on accumulating.
 */
#ifndef SW_STATS_SEQUENTIAL_H
#define SW_STATS_SEQUENTIAL_H

/* The share of alpha kept for the looks past the plan. */
#define SW_SPEND_TAIL 0.1

typedef enum sw_spending { SW_SPEND_BONFERRONI = 0, SW_SPEND_OBRIEN_FLEMING } sw_spending;

/* Parse "bonferroni" or "obrien-fleming"; -1 otherwise. */
int sw_spending_parse(const char *name, sw_spending *out);
const char *sw_spending_name(sw_spending s);

/* The alpha spent by information fraction t in [0, 1]. */
double sw_alpha_spent(sw_spending s, double alpha, double t);

/* The level to test at on look k (1-based) of k_max planned; k may pass k_max. Example:
   O'Brien-Fleming, alpha 0.05, 4 looks: 0.0000797, 0.004937, 0.016245, 0.023737; then
   0.0025, 0.000833, 0.000417, ... (0.005 in all). */
double sw_look_alpha(sw_spending s, double alpha, int k, int k_max);

#endif
