/*
 * bucket.h - sticky bucketing of sessions, compatible with Unleash.
 *
 * Unleash puts a key in bucket murmur3_x86_32("<group>:<key>", seed 0) % 100 + 1
 * and enables a rollout of weight W for buckets <= W. The router keeps exactly
 * that at whole percentages and refines it between them: the position of a key
 * is (h % 100) * 100 + (h / 100) % 100, in 0..9999, and the key is in a rollout
 * of weight W (0 to 100, 0.01 resolution) when position < round(W * 100). At a
 * whole W that is the Unleash test; a larger W only ever adds keys.
 */
#ifndef SW_ROUTER_BUCKET_H
#define SW_ROUTER_BUCKET_H

#include <stddef.h>
#include <stdint.h>

/* MurmurHash3 x86 32-bit (Austin Appleby's reference algorithm). */
uint32_t sw_murmur3_32(const void *data, size_t len, uint32_t seed);
/* Unleash's normalizedValue(id, groupId, normalizer): murmur3("<group>:<id>", 0) % normalizer + 1.
 */
uint32_t sw_unleash_normalized(const char *group, const char *id, uint32_t normalizer);
/* The key's position in 0..9999 for a rollout (see above). */
uint32_t sw_bucket_position(const char *rollout, const char *key);
/* Weight in hundredths of a percent (0..10000), rounded and clamped. */
uint32_t sw_weight_units(double percent);
/* Whether the key falls in a rollout of `percent` (0..100). */
int sw_bucket_in(const char *rollout, const char *key, double percent);

#endif
