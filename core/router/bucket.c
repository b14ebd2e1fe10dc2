/* bucket.c - murmur3 and the Unleash-compatible rollout buckets. */
#include "bucket.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

uint32_t sw_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    uint32_t h = seed;
    size_t nblocks = len / 4;
    for (size_t i = 0; i < nblocks; i++) {
        /* Little-endian reads, whatever the host: the hash must match other clients'. */
        uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64;
    }
    const uint8_t *tail = p + nblocks * 4;
    uint32_t k = 0;
    switch (len & 3) {
    case 3:
        k ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        k ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

static uint32_t group_hash(const char *group, const char *id)
{
    size_t gl = strlen(group), il = strlen(id);
    char small[256];
    char *s = gl + il + 2 <= sizeof small ? small : sw_xmalloc(gl + il + 2);
    memcpy(s, group, gl);
    s[gl] = ':';
    memcpy(s + gl + 1, id, il);
    uint32_t h = sw_murmur3_32(s, gl + 1 + il, 0);
    if (s != small)
        free(s);
    return h;
}

uint32_t sw_unleash_normalized(const char *group, const char *id, uint32_t normalizer)
{
    return group_hash(group, id) % (normalizer ? normalizer : 100) + 1;
}

uint32_t sw_bucket_position(const char *rollout, const char *key)
{
    uint32_t h = group_hash(rollout, key);
    return (h % 100) * 100 + (h / 100) % 100;
}

uint32_t sw_weight_units(double percent)
{
    if (!(percent > 0)) /* NaN too */
        return 0;
    if (percent >= 100)
        return 10000;
    return (uint32_t)lround(percent * 100);
}

int sw_bucket_in(const char *rollout, const char *key, double percent)
{
    return sw_bucket_position(rollout, key) < sw_weight_units(percent);
}
