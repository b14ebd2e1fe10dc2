/* proptest.c - two-proportion z test and Fisher's exact test. */
#include "proptest.h"

#include <math.h>

double sw_normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

double sw_two_prop_z(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double *z)
{
    double zz = 0;
    double p = 1;
    if (na > 0 && nb > 0 && xa <= na && xb <= nb) {
        double pool = (double)(xa + xb) / (double)(na + nb);
        double var = pool * (1 - pool) * (1.0 / (double)na + 1.0 / (double)nb);
        if (var > 0) {
            zz = ((double)xb / (double)nb - (double)xa / (double)na) / sqrt(var);
            p = 2 * sw_normal_cdf(-fabs(zz));
            if (p > 1)
                p = 1;
        }
    }
    if (z)
        *z = zz;
    return p;
}

/* log C(n, k) */
static double lchoose(double n, double k)
{
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/* log P(X = x) for the candidate's successes given the margins. */
static double lhyper(double x, double nb, double na, double m)
{
    return lchoose(nb, x) + lchoose(na, m - x) - lchoose(na + nb, m);
}

double sw_fisher_exact(uint64_t xa, uint64_t na, uint64_t xb, uint64_t nb, double *p_greater)
{
    if (xa > na || xb > nb || na + nb == 0) {
        if (p_greater)
            *p_greater = 1;
        return 1;
    }
    double m = (double)(xa + xb); /* successes in all */
    double lo = m > (double)na ? m - (double)na : 0;
    double hi = m < (double)nb ? m : (double)nb;
    double obs = lhyper((double)xb, (double)nb, (double)na, m);
    double two = 0, greater = 0;
    for (double x = lo; x <= hi; x++) {
        double l = lhyper(x, (double)nb, (double)na, m);
        double pr = exp(l);
        if (l <= obs + 1e-7 * fabs(obs) + 1e-12)
            two += pr;
        if (x >= (double)xb)
            greater += pr;
    }
    if (p_greater)
        *p_greater = greater > 1 ? 1 : greater;
    return two > 1 ? 1 : two;
}
