/* rng.c - seeded per-request generators, latency distributions, fault draws. */
#include "rng.h"

#include <math.h>

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

sw_mock_rng sw_mock_rng_for(uint64_t seed, uint64_t rule, uint64_t n)
{
    /* Nested mixing, so (rule, n) pairs never collide the way a plain xor would. */
    return (sw_mock_rng){mix(mix(mix(seed) ^ rule) ^ n)};
}

uint64_t sw_mock_rng_next(sw_mock_rng *r)
{
    r->state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = r->state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sw_mock_rng_uniform(sw_mock_rng *r)
{
    return (double)(sw_mock_rng_next(r) >> 11) * 0x1.0p-53;
}

double sw_mock_latency_sample(const sw_mock_latency *lat, sw_mock_rng *r)
{
    double v = 0;
    switch (lat->kind) {
    case SW_MOCK_LAT_FIXED:
        v = lat->a;
        break;
    case SW_MOCK_LAT_UNIFORM:
        v = lat->a + (lat->b - lat->a) * sw_mock_rng_uniform(r);
        break;
    case SW_MOCK_LAT_LOGNORMAL: {
        /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
        double u1 = 1.0 - sw_mock_rng_uniform(r);
        double u2 = sw_mock_rng_uniform(r);
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        v = lat->a * exp(lat->b * z);
        if (v > lat->max)
            v = lat->max;
        break;
    }
    }
    return v < 0 ? 0 : v;
}

const sw_mock_fault *sw_mock_fault_pick(const sw_mock_rule *rule, double u)
{
    double edge = 0;
    for (size_t i = 0; i < rule->n_faults; i++) {
        edge += rule->faults[i].rate;
        if (u < edge)
            return &rule->faults[i];
    }
    return NULL;
}
