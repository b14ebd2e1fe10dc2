/* sequential.c - alpha spending over repeated looks. */
#include "sequential.h"

#include <math.h>
#include <string.h>

#include "binom.h"
#include "proptest.h"

int sw_spending_parse(const char *name, sw_spending *out)
{
    if (name && strcmp(name, "bonferroni") == 0)
        *out = SW_SPEND_BONFERRONI;
    else if (name && strcmp(name, "obrien-fleming") == 0)
        *out = SW_SPEND_OBRIEN_FLEMING;
    else
        return -1;
    return 0;
}

const char *sw_spending_name(sw_spending s)
{
    return s == SW_SPEND_OBRIEN_FLEMING ? "obrien-fleming" : "bonferroni";
}

double sw_alpha_spent(sw_spending s, double alpha, double t)
{
    if (t <= 0)
        return 0;
    if (t >= 1)
        return alpha;
    if (s == SW_SPEND_BONFERRONI)
        return alpha * t;
    double z = sw_normal_quantile(1 - alpha / 2);
    return 2 * sw_normal_cdf(-z / sqrt(t));
}

double sw_look_alpha(sw_spending s, double alpha, int k, int k_max)
{
    if (k < 1 || k_max < 1)
        return 0;
    if (k > k_max) {
        /* Look k_max + j: the tail times 1/j - 1/(j+1), which telescopes to the whole tail. */
        double j = (double)(k - k_max);
        return alpha * SW_SPEND_TAIL / (j * (j + 1));
    }
    /* The planned looks spend all but the tail, in the plan's shape. */
    if (s == SW_SPEND_BONFERRONI)
        return alpha * (1 - SW_SPEND_TAIL) / k_max;
    return (1 - SW_SPEND_TAIL) * (sw_alpha_spent(s, alpha, (double)k / k_max) -
                                  sw_alpha_spent(s, alpha, (double)(k - 1) / k_max));
}
