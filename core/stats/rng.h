/*
 * rng.h - a small seeded pseudo-random generator for statistics.
 *
 * xoshiro256** (Blackman and Vigna), its state expanded from a 64-bit seed
 * with splitmix64, as the authors recommend. The same seed gives the same
 * sequence on every machine, so a bootstrap interval or a sampled split is
 * reproducible from the seed in the report. Not for secrets.
 */
#ifndef SW_STATS_RNG_H
#define SW_STATS_RNG_H

#include <stdint.h>

typedef struct sw_rng {
    uint64_t s[4];
} sw_rng;

void sw_rng_seed(sw_rng *r, uint64_t seed);
uint64_t sw_rng_next(sw_rng *r);
/* A double in [0, 1) from the top 53 bits of the next output. */
double sw_rng_uniform(sw_rng *r);
/* An integer in [0, n) without modulo bias (Lemire's method); n > 0. */
uint64_t sw_rng_below(sw_rng *r, uint64_t n);

#endif
