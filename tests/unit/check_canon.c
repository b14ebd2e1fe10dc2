/* check_canon.c - canonical JSON: key order, numbers, strings, stability of hashes. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/canon.h"
#include "store/sha256.h"

static char *canon_text(const char *json)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    ck_assert_msg(j != NULL, "bad test JSON: %s", je.text);
    sw_err err = {{0}};
    char *c = sw_canon_json(j, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    json_decref(j);
    return c;
}

#define ASSERT_CANON(in, want)                                                                     \
    do {                                                                                           \
        char *got_ = canon_text(in);                                                               \
        ck_assert_str_eq(got_, want);                                                              \
        free(got_);                                                                                \
    } while (0)

START_TEST(test_whitespace_and_order)
{
    ASSERT_CANON("{ \"b\" : [ 1 , 2 ] ,\n \"a\" : { \"y\": null, \"x\": true } }",
                 "{\"a\":{\"x\":true,\"y\":null},\"b\":[1,2]}");
    ASSERT_CANON("[]", "[]");
    ASSERT_CANON("{}", "{}");
    ASSERT_CANON("[false,\"\",{}]", "[false,\"\",{}]");
}
END_TEST

/* The sorting example of RFC 8785 section 3.2.3: UTF-16 code unit order puts the
   emoji (a surrogate pair, 0xD83D...) before U+FB33, unlike code point order. */
START_TEST(test_utf16_key_order)
{
    ASSERT_CANON("{\"\\u20ac\":1,\"\\r\":2,\"\\ufb33\":3,\"1\":4,\"\\ud83d\\ude00\":5,"
                 "\"\\u0080\":6,\"\\u00f6\":7}",
                 "{\"\\r\":2,\"1\":4,\"\xc2\x80\":6,\"\xc3\xb6\":7,\"\xe2\x82\xac\":1,"
                 "\"\xf0\x9f\x98\x80\":5,\"\xef\xac\xb3\":3}");
    ck_assert_int_lt(sw_canon_keycmp("\xf0\x9f\x98\x80", "\xef\xac\xb3"), 0);
    ck_assert_int_gt(sw_canon_keycmp("b", "a"), 0);
    ck_assert_int_lt(sw_canon_keycmp("a", "ab"), 0);
    ck_assert_int_eq(sw_canon_keycmp("same", "same"), 0);
}
END_TEST

START_TEST(test_strings)
{
    /* Only '"', '\\' and control characters are escaped; '/' , DEL and non-ASCII are not. */
    ASSERT_CANON("\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\"");
    ASSERT_CANON("\"\\u0001\\b\\t\\n\\f\\r\\u001f\"", "\"\\u0001\\b\\t\\n\\f\\r\\u001f\"");
    ASSERT_CANON("\"\\u007f\\u00e9\\u20ac\"", "\"\x7f\xc3\xa9\xe2\x82\xac\"");
}
END_TEST

START_TEST(test_integers)
{
    ASSERT_CANON("[0,-1,42,9007199254740993,-9223372036854775808]",
                 "[0,-1,42,9007199254740993,-9223372036854775808]");
}
END_TEST

static void assert_double(double d, const char *want)
{
    char out[32];
    ck_assert_int_eq(sw_canon_double(d, out), 0);
    ck_assert_str_eq(out, want);
    /* It must read back to exactly the same double. */
    ck_assert(strtod(out, NULL) == d);
}

START_TEST(test_doubles)
{
    /* ECMAScript Number::toString forms, as RFC 8785 appendix B lists them. */
    assert_double(1e21, "1e+21");
    assert_double(1e-7, "1e-7");
    assert_double(0.000001, "0.000001");
    assert_double(123e-20, "1.23e-18");
    assert_double(0.1, "0.1");
    assert_double(1.0 / 3.0, "0.3333333333333333");
    assert_double(5e-324, "5e-324");
    assert_double(1.7976931348623157e308, "1.7976931348623157e+308");
    assert_double(-1.5, "-1.5");
    assert_double(333333333.33333329, "333333333.3333333");
    assert_double(4.50, "4.5");
    assert_double(2e-3, "0.002");
    assert_double(0.000001234, "0.000001234");
    /* The departure: integral doubles keep ".0" so they read back as doubles. */
    assert_double(2.0, "2.0");
    assert_double(100.0, "100.0");
    assert_double(1e20, "100000000000000000000.0");
    assert_double(-0.0, "0.0");
    char out[32];
    ck_assert_int_eq(sw_canon_double(NAN, out), -1);
    ck_assert_int_eq(sw_canon_double(INFINITY, out), -1);
}
END_TEST

/* Ints and doubles survive canonical text -> parse -> canonical text unchanged. */
START_TEST(test_round_trip_keeps_types)
{
    const char *in = "{\"t\":0.2,\"n\":1024,\"w\":1.0,\"big\":1e300,\"tiny\":1e-300}";
    char *a = canon_text(in);
    ck_assert_str_eq(a, "{\"big\":1e+300,\"n\":1024,\"t\":0.2,\"tiny\":1e-300,\"w\":1.0}");
    json_t *j = json_loads(a, 0, NULL);
    ck_assert(json_is_real(json_object_get(j, "w")));
    ck_assert(json_is_integer(json_object_get(j, "n")));
    json_decref(j);
    char *b = canon_text(a);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

/* The same content in another order and layout gives the same bytes and hash;
   the hash is pinned to a literal so any machine must agree with this one. */
START_TEST(test_stable_hash)
{
    const char *one = "{\"model\":{\"provider\":\"openai\",\"name\":\"gpt-4o-2024-08-06\"},"
                      "\"parameters\":{\"temperature\":0.2,\"max_tokens\":1024},"
                      "\"tools\":[\"lookup_order\",\"issue_refund\"]}";
    const char *two = "{\n  \"tools\": [\"lookup_order\", \"issue_refund\"],\n"
                      "  \"parameters\": {\"max_tokens\": 1024, \"temperature\": 2e-1},\n"
                      "  \"model\": {\"name\": \"gpt-4o-2024-08-06\", \"provider\": \"openai\"}\n}";
    char *a = canon_text(one), *b = canon_text(two);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, "{\"model\":{\"name\":\"gpt-4o-2024-08-06\",\"provider\":\"openai\"},"
                        "\"parameters\":{\"max_tokens\":1024,\"temperature\":0.2},"
                        "\"tools\":[\"lookup_order\",\"issue_refund\"]}");
    char h[65];
    sw_sha256_hex(a, strlen(a), h);
    ck_assert_str_eq(h, "a57427440086dd6a456226750fe959489d5d9f525b20f7719defb2a29389cc27");
    free(a);
    free(b);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    json_t *j = json_stringn_nocheck("a\xff", 2);
    sw_err err = {{0}};
    ck_assert_ptr_null(sw_canon_json(j, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "UTF-8"));
    json_decref(j);
    ck_assert_ptr_null(sw_canon_json(NULL, &err));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("canon");
    TCase *tc = tcase_create("canon");
    tcase_add_test(tc, test_whitespace_and_order);
    tcase_add_test(tc, test_utf16_key_order);
    tcase_add_test(tc, test_strings);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_doubles);
    tcase_add_test(tc, test_round_trip_keeps_types);
    tcase_add_test(tc, test_stable_hash);
    tcase_add_test(tc, test_invalid_utf8);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
