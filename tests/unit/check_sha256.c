/* check_sha256.c - SHA-256 against the NIST FIPS 180-4 example vectors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store/sha256.h"

static void hex_of(const char *msg, size_t len, char out[65])
{
    sw_sha256_hex(msg, len, out);
}

START_TEST(test_abc)
{
    char h[65];
    hex_of("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_empty)
{
    char h[65];
    hex_of("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_448_bits)
{
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char h[65];
    ck_assert_uint_eq(strlen(m) * 8, 448);
    hex_of(m, strlen(m), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_896_bits)
{
    const char *m =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
        "klmnopqrlmnopqrsmnopqrstnopqrstu";
    char h[65];
    hex_of(m, strlen(m), h);
    ck_assert_str_eq(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_million_a)
{
    size_t n = 1000000;
    char *m = malloc(n);
    memset(m, 'a', n);
    char h[65];
    hex_of(m, n, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same million bytes fed in uneven pieces, across block boundaries. */
    sw_sha256_ctx c;
    sw_sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t take = step < n - off ? step : n - off;
        sw_sha256_update(&c, m + off, take);
        off += take;
        step = step * 3 % 200 + 1;
    }
    unsigned char d[32];
    sw_sha256_final(&c, d);
    sw_hex(d, 32, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
}
END_TEST

/* Lengths around the padding boundary (55, 56, 63, 64, 65 bytes) must agree
   between one-shot and byte-at-a-time hashing. */
START_TEST(test_padding_boundaries)
{
    static const size_t lens[] = {55, 56, 57, 63, 64, 65, 119, 120, 128};
    char buf[128];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)('0' + i % 10);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        char a[65], b[65];
        unsigned char d[32];
        hex_of(buf, lens[li], a);
        sw_sha256_ctx c;
        sw_sha256_init(&c);
        for (size_t i = 0; i < lens[li]; i++)
            sw_sha256_update(&c, buf + i, 1);
        sw_sha256_final(&c, d);
        sw_hex(d, 32, b);
        ck_assert_str_eq(a, b);
    }
    /* 56 bytes of 'a' (a known value: padding needs a second block). */
    char h[65];
    memset(buf, 'a', 56);
    hex_of(buf, 56, h);
    ck_assert_str_eq(h, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("nist");
    tcase_add_test(tc, test_abc);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_448_bits);
    tcase_add_test(tc, test_896_bits);
    tcase_add_test(tc, test_million_a);
    tcase_add_test(tc, test_padding_boundaries);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
