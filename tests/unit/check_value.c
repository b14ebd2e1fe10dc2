/* check_value.c - typed values: constructors, equality, type names, JSON and text forms. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/value.h"

/* v -> JSON -> text -> JSON -> value, the path a checkpoint takes. */
static sw_value through_text(const sw_value *v)
{
    json_t *j = sw_value_to_json(v);
    ck_assert_ptr_nonnull(j);
    char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    json_decref(j);
    json_error_t jerr;
    json_t *back = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(back != NULL, "reparse of %s: %s", text, jerr.text);
    free(text);
    sw_value out = SW_VALUE_NULL;
    sw_err err = {{0}};
    ck_assert_int_eq(sw_value_from_json(back, &out, &err), 0);
    json_decref(back);
    return out;
}

START_TEST(test_constructors_and_copy)
{
    sw_value b = sw_value_bool(42);
    ck_assert_int_eq(b.type, SW_TYPE_BOOL);
    ck_assert_int_eq(b.as.b, 1);
    sw_value s = sw_value_string("héllo");
    sw_value c = sw_value_copy(&s);
    ck_assert_ptr_ne(c.as.s, s.as.s);
    ck_assert_str_eq(c.as.s, "héllo");
    sw_value_free(&s);
    ck_assert_int_eq(s.type, SW_TYPE_NULL);
    ck_assert_str_eq(c.as.s, "héllo");
    sw_value_free(&c);
    sw_value_free(&c); /* freeing null again is harmless */

    sw_value j = sw_value_json_text("[1,2]");
    sw_value jc = sw_value_copy(&j);
    ck_assert_int_eq(jc.type, SW_TYPE_JSON);
    ck_assert_str_eq(jc.as.s, "[1,2]");
    sw_value_free(&j);
    sw_value_free(&jc);

    sw_value n = sw_value_copy(NULL);
    ck_assert_int_eq(n.type, SW_TYPE_NULL);
}
END_TEST

START_TEST(test_equal)
{
    sw_value i5 = sw_value_int(5), d5 = sw_value_double(5.0), i6 = sw_value_int(6);
    ck_assert(sw_value_equal(&i5, &i5));
    ck_assert(!sw_value_equal(&i5, &d5)); /* ints and doubles stay distinct */
    ck_assert(!sw_value_equal(&i5, &i6));

    sw_value nan1 = sw_value_double(NAN), nan2 = sw_value_double(-NAN);
    ck_assert(sw_value_equal(&nan1, &nan2));
    sw_value z = sw_value_double(0.0), nz = sw_value_double(-0.0);
    ck_assert(!sw_value_equal(&z, &nz));
    ck_assert(!sw_value_equal(&z, &nan1));

    sw_value t1 = sw_value_bool(1), t2 = sw_value_bool(7), f = sw_value_bool(0);
    ck_assert(sw_value_equal(&t1, &t2));
    ck_assert(!sw_value_equal(&t1, &f));

    sw_value n1 = SW_VALUE_NULL, n2 = SW_VALUE_NULL;
    ck_assert(sw_value_equal(&n1, &n2));

    sw_value a = sw_value_json_text("{\"a\":1,\"b\":[true,null]}");
    sw_value b = sw_value_json_text("{ \"b\": [true, null], \"a\": 1 }");
    sw_value c = sw_value_json_text("{\"a\":1.0,\"b\":[true,null]}");
    ck_assert(sw_value_equal(&a, &b));
    ck_assert(!sw_value_equal(&a, &c)); /* 1 and 1.0 differ in JSON too */
    sw_value sa = sw_value_string("{\"a\":1,\"b\":[true,null]}");
    ck_assert(!sw_value_equal(&a, &sa));
    sw_value sb = sw_value_string("x"), sc = sw_value_string("x");
    ck_assert(sw_value_equal(&sb, &sc));
    sw_value_free(&a);
    sw_value_free(&b);
    sw_value_free(&c);
    sw_value_free(&sa);
    sw_value_free(&sb);
    sw_value_free(&sc);
}
END_TEST

START_TEST(test_type_names)
{
    static const char *names[] = {"null", "bool", "int", "double", "string", "json", "any"};
    for (int t = SW_TYPE_NULL; t <= SW_TYPE_ANY; t++) {
        ck_assert_str_eq(sw_type_name((sw_type)t), names[t]);
        sw_type back = SW_TYPE_NULL;
        ck_assert_int_eq(sw_type_parse(names[t], &back), 0);
        ck_assert_int_eq(back, t);
    }
    sw_type t = SW_TYPE_NULL;
    ck_assert_int_eq(sw_type_parse("boolean", &t), 0);
    ck_assert_int_eq(t, SW_TYPE_BOOL);
    t = SW_TYPE_STRING;
    ck_assert_int_eq(sw_type_parse("integer", &t), -1);
    ck_assert_int_eq(sw_type_parse("float", &t), -1);
    ck_assert_int_eq(sw_type_parse("Int", &t), -1);
    ck_assert_int_eq(sw_type_parse("", &t), -1);
    ck_assert_int_eq(sw_type_parse(NULL, &t), -1);
    ck_assert_int_eq(t, SW_TYPE_STRING); /* untouched on failure */
    ck_assert_str_eq(sw_type_name((sw_type)99), "unknown");
}
END_TEST

START_TEST(test_from_json)
{
    sw_err err = {{0}};
    sw_value v;
    json_t *j = json_loads("[null, true, false, -7, 2.5, \"s\", {\"k\": [1, 2]}, [[]]]", 0, NULL);
    ck_assert_ptr_nonnull(j);

    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 0), &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_NULL);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 1), &v, &err), 0);
    ck_assert(v.type == SW_TYPE_BOOL && v.as.b == 1);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 2), &v, &err), 0);
    ck_assert(v.type == SW_TYPE_BOOL && v.as.b == 0);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 3), &v, &err), 0);
    ck_assert(v.type == SW_TYPE_INT && v.as.i == -7);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 4), &v, &err), 0);
    ck_assert(v.type == SW_TYPE_DOUBLE && v.as.d == 2.5);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 5), &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_STRING);
    ck_assert_str_eq(v.as.s, "s");
    sw_value_free(&v);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 6), &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_JSON);
    ck_assert_str_eq(v.as.s, "{\"k\":[1,2]}");
    sw_value_free(&v);
    ck_assert_int_eq(sw_value_from_json(json_array_get(j, 7), &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_JSON);
    ck_assert_str_eq(v.as.s, "[[]]");
    sw_value_free(&v);
    json_decref(j);

    /* UTF-8 stays UTF-8, not \u escapes. */
    json_t *u = json_pack("{s:s}", "k", "café");
    ck_assert_int_eq(sw_value_from_json(u, &v, &err), 0);
    ck_assert_str_eq(v.as.s, "{\"k\":\"café\"}");
    sw_value_free(&v);
    json_decref(u);

    json_t *nul = json_stringn("a\0b", 3);
    ck_assert_int_eq(sw_value_from_json(nul, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "NUL"));
    json_decref(nul);
    ck_assert_int_eq(sw_value_from_json(NULL, &v, &err), -1);
}
END_TEST

START_TEST(test_to_json)
{
    sw_value v = sw_value_int(INT64_MIN);
    json_t *j = sw_value_to_json(&v);
    ck_assert(json_is_integer(j) && json_integer_value(j) == INT64_MIN);
    json_decref(j);

    v = sw_value_double(1.0);
    j = sw_value_to_json(&v);
    ck_assert(json_is_real(j));
    char *text = json_dumps(j, JSON_ENCODE_ANY);
    ck_assert_str_eq(text, "1.0"); /* a double never prints as an int */
    free(text);
    json_decref(j);

    v = sw_value_json_text("{\"a\":[1,{\"b\":null}]}");
    j = sw_value_to_json(&v);
    ck_assert(json_is_object(j));
    ck_assert(json_is_array(json_object_get(j, "a")));
    json_decref(j);
    sw_value_free(&v);

    v = sw_value_string("x");
    j = sw_value_to_json(&v);
    ck_assert_str_eq(json_string_value(j), "x");
    json_decref(j);
    sw_value_free(&v);

    v = SW_VALUE_NULL;
    j = sw_value_to_json(&v);
    ck_assert(json_is_null(j));
    json_decref(j);

    v = sw_value_bool(0);
    j = sw_value_to_json(&v);
    ck_assert(json_is_false(j));
    json_decref(j);

    /* JSON has no NaN or infinity: the checkpoint spellings are used. */
    double nonfinite[] = {NAN, INFINITY, -INFINITY};
    const char *names[] = {"nan", "inf", "-inf"};
    for (int i = 0; i < 3; i++) {
        v = sw_value_double(nonfinite[i]);
        j = sw_value_to_json(&v);
        ck_assert(json_is_string(j));
        ck_assert_str_eq(json_string_value(j), names[i]);
        json_decref(j);
    }
}
END_TEST

START_TEST(test_double_round_trip)
{
    const double cases[] = {
        0.1,      1e300, -0.0, 1.0, 5.0, 1.0 / 3.0, 2e-308, 4.9e-324, 9007199254740993.0,
        -123.456, 1e22,  0.0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sw_value v = sw_value_double(cases[i]);
        sw_value back = through_text(&v);
        ck_assert_msg(back.type == SW_TYPE_DOUBLE, "case %zu came back as %s", i,
                      sw_type_name(back.type));
        ck_assert_msg(memcmp(&back.as.d, &cases[i], sizeof(double)) == 0,
                      "case %zu: %.17g came back as %.17g", i, cases[i], back.as.d);
    }
    ck_assert(signbit(-0.0));

    /* 2^53 + 1 is exact as an int and stays an int. */
    sw_value big = sw_value_int(9007199254740993LL);
    sw_value back = through_text(&big);
    ck_assert_int_eq(back.type, SW_TYPE_INT);
    ck_assert(back.as.i == 9007199254740993LL);

    sw_value max = sw_value_int(INT64_MAX);
    back = through_text(&max);
    ck_assert(back.type == SW_TYPE_INT && back.as.i == INT64_MAX);
}
END_TEST

static void check_text(sw_value v, const char *want)
{
    char *t = sw_value_to_text(&v);
    ck_assert_str_eq(t, want);
    free(t);
}

START_TEST(test_to_text)
{
    check_text(sw_value_int(-42), "-42");
    check_text(sw_value_int(INT64_MIN), "-9223372036854775808");
    check_text(sw_value_double(0.1), "0.1");
    check_text(sw_value_double(5.0), "5");
    check_text(sw_value_double(1e300), "1e+300");
    check_text(sw_value_double(0.95), "0.95");
    check_text(sw_value_double(1.0 / 3.0), "0.3333333333333333");
    check_text(sw_value_double(0.1 + 0.2), "0.30000000000000004");
    check_text(sw_value_double(NAN), "nan");
    check_text(sw_value_double(INFINITY), "inf");
    check_text(sw_value_double(-INFINITY), "-inf");
    check_text(sw_value_bool(1), "true");
    check_text(sw_value_bool(0), "false");
    check_text(SW_VALUE_NULL, "");

    sw_value s = sw_value_string("plain text");
    check_text(s, "plain text");
    sw_value_free(&s);
    sw_value j = sw_value_json_text("[5,25,50,100]");
    check_text(j, "[5,25,50,100]");
    sw_value_free(&j);

    /* Whatever form is chosen reads back to the same double. */
    const double samples[] = {0.1, 2.0 / 3.0, 123456789.123456789, 1e-310, 6.02214076e23};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        sw_value d = sw_value_double(samples[i]);
        char *t = sw_value_to_text(&d);
        ck_assert_msg(strtod(t, NULL) == samples[i], "%s", t);
        free(t);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("value");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_constructors_and_copy);
    tcase_add_test(tc, test_equal);
    tcase_add_test(tc, test_type_names);
    tcase_add_test(tc, test_from_json);
    tcase_add_test(tc, test_to_json);
    tcase_add_test(tc, test_double_round_trip);
    tcase_add_test(tc, test_to_text);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
