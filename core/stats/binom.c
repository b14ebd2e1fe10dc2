/* binom.c - binomial tails in log space, McNemar's exact test, Wilson's interval. */
#include "binom.h"

#include <math.h>

static double log_choose(uint64_t n, uint64_t k)
{
    return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

double sw_binom_cdf(uint64_t k, uint64_t n, double p)
{
    if (k >= n)
        return 1.0;
    if (p <= 0)
        return 1.0;
    if (p >= 1)
        return 0.0;
    double lp = log(p), lq = log1p(-p);
    /* log-sum-exp over the terms 0..k, anchored at the largest term. */
    double max = -INFINITY;
    for (uint64_t i = 0; i <= k; i++) {
        double t = log_choose(n, i) + (double)i * lp + (double)(n - i) * lq;
        if (t > max)
            max = t;
    }
    double sum = 0;
    for (uint64_t i = 0; i <= k; i++)
        sum += exp(log_choose(n, i) + (double)i * lp + (double)(n - i) * lq - max);
    double r = exp(max + log(sum));
    return r > 1.0 ? 1.0 : r;
}

double sw_mcnemar_exact(uint64_t b, uint64_t c)
{
    uint64_t n = b + c;
    if (n == 0)
        return 1.0;
    uint64_t k = b < c ? b : c;
    double p;
    if (n <= 60) {
        /* Small tables exactly: the binomial coefficients fit in 64 bits, so a
           hand computation (2 * 79 / 4096 for b = 10, c = 2) comes out to the bit. */
        uint64_t coef = 1, sum = 1;
        for (uint64_t i = 1; i <= k; i++) {
            coef = coef * (n - i + 1) / i;
            sum += coef;
        }
        p = ldexp((double)sum, 1 - (int)n);
    } else {
        p = 2.0 * sw_binom_cdf(k, n, 0.5);
    }
    return p > 1.0 ? 1.0 : p;
}

double sw_normal_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return NAN;
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    const double lo = 0.02425, hi = 1 - lo;
    double x;
    if (p < lo) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= hi) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* One Halley step on the exact CDF brings the error to machine precision. */
    double e = 0.5 * erfc(-x / sqrt(2)) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

void sw_wilson_interval(uint64_t k, uint64_t n, double confidence, double *lo, double *hi)
{
    if (n == 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    double z = sw_normal_quantile(1 - (1 - confidence) / 2);
    double nn = (double)n, ph = (double)k / nn, z2 = z * z;
    double centre = (ph + z2 / (2 * nn)) / (1 + z2 / nn);
    double half = z * sqrt(ph * (1 - ph) / nn + z2 / (4 * nn * nn)) / (1 + z2 / nn);
    *lo = centre - half < 0 ? 0 : centre - half;
    *hi = centre + half > 1 ? 1 : centre + half;
}
