/* power.c - sample sizes and detectable effects of the monitor's one-sided tests. */
#include "power.h"

#include <math.h>

#include "binom.h"
#include "proptest.h"

/* Counts beyond this are "never" (a canary does not see 10^12 sessions). */
#define N_MAX 1e12

/* The power at z = z_{1-alpha}, computed once by the callers that search. */
static double prop_power(double p, double delta, double margin, double na, double nb, double z)
{
    double q = p + delta;
    if (!(na > 0 && nb > 0) || p < 0 || q > 1 || !(z > 0))
        return 0;
    double pool = (na * p + nb * q) / (na + nb);
    double null_sd = sqrt(pool * (1 - pool) * (1 / na + 1 / nb));
    double alt_sd = sqrt(p * (1 - p) / na + q * (1 - q) / nb);
    double bar = fmax(z * null_sd, margin); /* what the observed difference must exceed */
    if (alt_sd == 0)                        /* both rates certain: the difference is seen exactly */
        return delta > bar ? 1 : 0;
    return sw_normal_cdf((delta - bar) / alt_sd);
}

/* z_{1-alpha}, taken as -z_alpha: 1 - alpha rounds to 1 for the tiny levels of early looks
   (1e-18), where the quantile of alpha itself is still exact. NaN outside (0, 1). */
static double z_of(double alpha)
{
    return alpha > 0 && alpha < 1 ? -sw_normal_quantile(alpha) : NAN;
}

double sw_power_two_prop(double p, double delta, double margin, double na, double nb, double alpha)
{
    return prop_power(p, delta, margin, na, nb, z_of(alpha));
}

/* The smallest whole n in [1, N_MAX] with power(n) >= target, power(n) rising in n;
   INFINITY when even N_MAX falls short. */
static double smallest_n(double (*power)(const double *args, double n), const double *args,
                         double target)
{
    if (power(args, N_MAX) < target)
        return INFINITY;
    double lo = 0, hi = 1; /* power(lo) < target <= power(hi) once hi is found */
    while (power(args, hi) < target) {
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        double mid = floor((lo + hi) / 2);
        if (power(args, mid) >= target)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* args: p, delta, margin, z, na (< 0: equal arms) */
static double prop_power_at(const double *a, double n)
{
    return prop_power(a[0], a[1], a[2], a[4] < 0 ? n : a[4], n, a[3]);
}

double sw_power_two_prop_n(double p, double delta, double margin, double alpha, double power)
{
    if (!(delta > 0 && delta > margin) || p + delta > 1)
        return INFINITY;
    const double args[] = {p, delta, margin, z_of(alpha), -1};
    return smallest_n(prop_power_at, args, power);
}

double sw_power_two_prop_n_given(double p, double delta, double margin, double na, double alpha,
                                 double power)
{
    if (!(delta > 0 && delta > margin) || p + delta > 1 || !(na > 0))
        return INFINITY;
    const double args[] = {p, delta, margin, z_of(alpha), na};
    return smallest_n(prop_power_at, args, power);
}

double sw_power_two_prop_mde(double p, double margin, double na, double nb, double alpha,
                             double power)
{
    double hi = 1 - p, z = z_of(alpha);
    if (!(hi > 0) || prop_power(p, hi, margin, na, nb, z) < power)
        return INFINITY;
    double lo = 0;
    for (int i = 0; i < 40; i++) { /* 2^-40 of the range: far below what a count can show */
        double mid = (lo + hi) / 2;
        if (prop_power(p, mid, margin, na, nb, z) >= power)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

double sw_power_shift(double delta, double margin, double sigma, double na, double nb, double alpha)
{
    if (!(na > 0 && nb > 0) || !(sigma >= 0) || !(alpha > 0 && alpha < 1))
        return 0;
    double se = sigma * sqrt(1 / na + 1 / nb);
    double z = z_of(alpha);
    if (se == 0)
        return delta > margin ? 1 : 0;
    return sw_normal_cdf((delta - margin) / se - z);
}

/* z_{1-alpha} + z_power: the distance, in standard errors, between the margin and the
   effect seen with that power. */
static double z_sum(double alpha, double power)
{
    return z_of(alpha) + sw_normal_quantile(power);
}

double sw_power_shift_n(double delta, double margin, double sigma, double alpha, double power)
{
    if (!(delta > margin) || !(alpha > 0 && alpha < 1))
        return INFINITY;
    double k = z_sum(alpha, power) * sigma / (delta - margin);
    double n = ceil(2 * k * k - 1e-9); /* 62.79 -> 63, but 63.0 stays 63 */
    return n < 1 ? 1 : n > N_MAX ? INFINITY : n;
}

double sw_power_shift_n_given(double delta, double margin, double sigma, double na, double alpha,
                              double power)
{
    if (!(delta > margin) || !(na > 0) || !(alpha > 0 && alpha < 1))
        return INFINITY;
    /* se^2 = sigma^2 (1/na + 1/nb) must come down to ((delta - margin) / z_sum)^2 */
    double room = pow((delta - margin) / (z_sum(alpha, power) * sigma), 2) - 1 / na;
    if (!(room > 0))
        return INFINITY;
    double n = ceil(1 / room - 1e-9);
    return n < 1 ? 1 : n > N_MAX ? INFINITY : n;
}

double sw_power_shift_mde(double margin, double sigma, double na, double nb, double alpha,
                          double power)
{
    if (!(na > 0 && nb > 0) || !(sigma >= 0) || !(alpha > 0 && alpha < 1))
        return INFINITY;
    return margin + z_sum(alpha, power) * sigma * sqrt(1 / na + 1 / nb);
}
