/* check_router_bucket.c - murmur3 and the Unleash-compatible rollout buckets. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "router/bucket.h"

START_TEST(murmur3_reference_values)
{
    /* Known outputs of the reference MurmurHash3_x86_32. */
    ck_assert_uint_eq(sw_murmur3_32("", 0, 0), 0u);
    ck_assert_uint_eq(sw_murmur3_32("", 0, 1), 0x514e28b7u);
    ck_assert_uint_eq(sw_murmur3_32("hello", 5, 0), 0x248bfa47u);
    ck_assert_uint_eq(sw_murmur3_32("The quick brown fox jumps over the lazy dog", 43, 0),
                      0x2e4ff723u);
    /* Tails of 1, 2 and 3 bytes. */
    ck_assert_uint_eq(sw_murmur3_32("a", 1, 0), 0x3c2569b2u);
    ck_assert_uint_eq(sw_murmur3_32("ab", 2, 0), 0x9bbfd75fu);
    ck_assert_uint_eq(sw_murmur3_32("abc", 3, 0), 0xb3dd93fau);
    ck_assert_uint_eq(sw_murmur3_32("abcd", 4, 0), 0x43ed676au);
}
END_TEST

START_TEST(unleash_client_specification_vectors)
{
    /* normalizedValue tests shared by the Node, Java and Go clients. */
    ck_assert_uint_eq(sw_unleash_normalized("gr1", "123", 100), 73);
    ck_assert_uint_eq(sw_unleash_normalized("groupX", "999", 100), 25);
    /* client-specification 03/04: groupId AB12A at 50%: 122 in, 155 out. */
    ck_assert(sw_unleash_normalized("AB12A", "122", 100) <= 50);
    ck_assert(sw_unleash_normalized("AB12A", "155", 100) > 50);
    ck_assert(sw_bucket_in("AB12A", "122", 50));
    ck_assert(!sw_bucket_in("AB12A", "155", 50));
    ck_assert(sw_bucket_in("AB12A", "123", 100));
    ck_assert(!sw_bucket_in("AB12A", "122", 0));
    /* client-specification 10 (flexibleRollout, groupId = feature name). */
    ck_assert(sw_bucket_in("Feature.flexibleRollout.10", "174", 10));
    ck_assert(!sw_bucket_in("Feature.flexibleRollout.10", "499", 10));
    ck_assert(sw_bucket_in("Feature.flexibleRollout.userId.55", "25", 55));
    ck_assert(sw_bucket_in("Feature.flexibleRollout.sessionId.42", "147", 42));
}
END_TEST

START_TEST(whole_percents_match_unleash_exactly)
{
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "session-%d", i);
        uint32_t b = sw_unleash_normalized("rollout-7", key, 100);
        for (int w = 0; w <= 100; w += 7)
            ck_assert_int_eq(sw_bucket_in("rollout-7", key, w), b <= (uint32_t)w);
    }
}
END_TEST

START_TEST(ramping_only_adds_sessions)
{
    static const double steps[] = {0.01, 0.5, 1, 1.25, 5, 25, 50, 99.99, 100};
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int was_in = 0;
        for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
            int in = sw_bucket_in("canary-v2", key, steps[s]);
            ck_assert_msg(!was_in || in, "key %s left the rollout at %g%%", key, steps[s]);
            was_in = in;
        }
        ck_assert(was_in); /* 100% takes everyone */
    }
}
END_TEST

START_TEST(fine_weights_have_their_share)
{
    char key[32];
    int at_half = 0, at_five = 0, at_tiny = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        at_half += sw_bucket_in("r", key, 0.5);
        at_five += sw_bucket_in("r", key, 5);
        at_tiny += sw_bucket_in("r", key, 0.01);
    }
    /* Deterministic keys: these are fixed counts, checked against wide bounds. */
    ck_assert_msg(at_half > 350 && at_half < 650, "0.5%%: %d of %d", at_half, n);
    ck_assert_msg(at_five > 4500 && at_five < 5500, "5%%: %d of %d", at_five, n);
    ck_assert_msg(at_tiny > 0 && at_tiny < 40, "0.01%%: %d of %d", at_tiny, n);
}
END_TEST

START_TEST(weight_units)
{
    ck_assert_uint_eq(sw_weight_units(0), 0);
    ck_assert_uint_eq(sw_weight_units(-3), 0);
    ck_assert_uint_eq(sw_weight_units(0.01), 1);
    ck_assert_uint_eq(sw_weight_units(12.345), 1235);
    ck_assert_uint_eq(sw_weight_units(100), 10000);
    ck_assert_uint_eq(sw_weight_units(250), 10000);
    ck_assert_uint_lt(sw_bucket_position("x", "y"), 10000);
    /* Long keys take the allocation path. */
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_uint_lt(sw_bucket_position(big, big), 10000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_bucket");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, murmur3_reference_values);
    tcase_add_test(tc, unleash_client_specification_vectors);
    tcase_add_test(tc, whole_percents_match_unleash_exactly);
    tcase_add_test(tc, ramping_only_adds_sessions);
    tcase_add_test(tc, fine_weights_have_their_share);
    tcase_add_test(tc, weight_units);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
