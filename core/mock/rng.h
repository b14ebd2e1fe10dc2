/*
 * rng.h - the mock server's seeded randomness.
 *
 * Each request gets a generator of its own, derived from the scenario's seed,
 * the rule that answers it and how many requests that rule answered before
 * (splitmix64 over the three), so the n-th request of a rule draws the same
 * fault and latency in every run, however requests interleave. Draws happen
 * in a fixed order: the fault, then the latency, then the time to first chunk.
 */
#ifndef SW_MOCK_RNG_H
#define SW_MOCK_RNG_H

#include <stdint.h>

#include "scenario.h"

typedef struct sw_mock_rng {
    uint64_t state;
} sw_mock_rng;

sw_mock_rng sw_mock_rng_for(uint64_t seed, uint64_t rule, uint64_t n);
uint64_t sw_mock_rng_next(sw_mock_rng *r);
double sw_mock_rng_uniform(sw_mock_rng *r); /* in [0, 1) */
/* A latency in milliseconds drawn from the distribution (never negative). */
double sw_mock_latency_sample(const sw_mock_latency *lat, sw_mock_rng *r);
/* The fault a draw u in [0, 1) selects: faults take consecutive slices of
   [0, 1) in their order, by rate. NULL: none. */
const sw_mock_fault *sw_mock_fault_pick(const sw_mock_rule *rule, double u);

#endif
