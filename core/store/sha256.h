/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental or in one call.
 *
 * Release ids and file digests in the store are SHA-256 of exact bytes, so
 * the same content hashes the same on every machine. No allocation.
 */
#ifndef SW_STORE_SHA256_H
#define SW_STORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SW_SHA256_LEN     32
#define SW_SHA256_HEX_LEN 64

typedef struct sw_sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    unsigned char block[64];
    size_t used; /* bytes waiting in block */
} sw_sha256_ctx;

void sw_sha256_init(sw_sha256_ctx *c);
void sw_sha256_update(sw_sha256_ctx *c, const void *data, size_t len);
void sw_sha256_final(sw_sha256_ctx *c, unsigned char out[SW_SHA256_LEN]);

/* One call: the digest of data. */
void sw_sha256(const void *data, size_t len, unsigned char out[SW_SHA256_LEN]);
/* The digest as 64 lowercase hex digits and a NUL. */
void sw_sha256_hex(const void *data, size_t len, char out[SW_SHA256_HEX_LEN + 1]);
/* Lowercase hex of any digest (2*n digits and a NUL). */
void sw_hex(const unsigned char *bytes, size_t n, char *out);

#endif
