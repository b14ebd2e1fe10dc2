/* check_context.c - the typed context: storage, typed reads, order, checkpoint JSON. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/context.h"

static void set_int(sw_context *ctx, const char *key, int64_t i)
{
    sw_value v = sw_value_int(i);
    sw_context_set(ctx, key, &v, "test", 0);
}

static void set_str(sw_context *ctx, const char *key, const char *s, const char *writer)
{
    sw_value v = sw_value_string(s);
    sw_context_set(ctx, key, &v, writer, 0);
    sw_value_free(&v);
}

START_TEST(test_set_get)
{
    sw_context *ctx = sw_context_new();
    ck_assert_uint_eq(sw_context_count(ctx), 0);
    ck_assert_ptr_null(sw_context_get(ctx, "release.id"));

    set_str(ctx, "release.id", "r-123", "release");
    set_int(ctx, "golden.cases", 200);
    sw_value d = sw_value_double(0.97);
    sw_context_set(ctx, "golden.pass_rate", &d, "golden", 0);
    sw_context_set(ctx, "golden.nothing", NULL, "golden", 0);

    const sw_value *v = sw_context_get(ctx, "release.id");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->type, SW_TYPE_STRING);
    ck_assert_str_eq(v->as.s, "r-123");
    v = sw_context_get(ctx, "golden.cases");
    ck_assert(v && v->type == SW_TYPE_INT && v->as.i == 200);
    v = sw_context_get(ctx, "golden.pass_rate");
    ck_assert(v && v->type == SW_TYPE_DOUBLE && v->as.d == 0.97);
    v = sw_context_get(ctx, "golden.nothing");
    ck_assert(v && v->type == SW_TYPE_NULL);
    ck_assert_ptr_null(sw_context_get(ctx, "golden"));
    ck_assert_ptr_null(sw_context_get(ctx, "golden.cases2"));
    ck_assert_ptr_null(sw_context_get(ctx, NULL));
    ck_assert_uint_eq(sw_context_count(ctx), 4);

    ck_assert_str_eq(sw_context_writer(ctx, "release.id"), "release");
    ck_assert_str_eq(sw_context_writer(ctx, "golden.pass_rate"), "golden");
    ck_assert_ptr_null(sw_context_writer(ctx, "absent"));

    /* Overwrite with another type: the count and the position stay. */
    set_str(ctx, "golden.cases", "many", "other");
    v = sw_context_get(ctx, "golden.cases");
    ck_assert(v && v->type == SW_TYPE_STRING);
    ck_assert_str_eq(v->as.s, "many");
    ck_assert_str_eq(sw_context_writer(ctx, "golden.cases"), "other");
    ck_assert_uint_eq(sw_context_count(ctx), 4);
    ck_assert_str_eq(sw_context_key_at(ctx, 1), "golden.cases");

    /* A NULL writer clears it. */
    sw_context_set(ctx, "golden.cases", v, NULL, 0);
    ck_assert_ptr_null(sw_context_writer(ctx, "golden.cases"));
    sw_context_free(ctx);
    sw_context_free(NULL);
}
END_TEST

START_TEST(test_order_and_index)
{
    sw_context *ctx = sw_context_new();
    const char *keys[] = {"z.last", "a.first", "m.middle", "vars.x"};
    for (int i = 0; i < 4; i++)
        set_int(ctx, keys[i], i);
    set_int(ctx, "a.first", 100); /* rewriting does not move a key */
    for (size_t i = 0; i < 4; i++)
        ck_assert_str_eq(sw_context_key_at(ctx, i), keys[i]);
    ck_assert(sw_context_value_at(ctx, 1)->as.i == 100);
    ck_assert_ptr_null(sw_context_key_at(ctx, 4));
    ck_assert_ptr_null(sw_context_value_at(ctx, 4));
    ck_assert_uint_eq(sw_context_flags_at(ctx, 4), 0);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_typed_get)
{
    sw_context *ctx = sw_context_new();
    sw_err err = {{0}};
    const sw_value *out = NULL;
    set_str(ctx, "golden.pass_rate", "high", "golden");
    set_int(ctx, "golden.cases", 7);
    sw_value d = sw_value_double(1.5);
    sw_context_set(ctx, "golden.mean", &d, "golden", 0);

    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.pass_rate", SW_TYPE_DOUBLE, &out, &err), -1);
    ck_assert_str_eq(err.msg, "context key 'golden.pass_rate': expected double, got string");
    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.missing", SW_TYPE_INT, &out, &err), -1);
    ck_assert_str_eq(err.msg, "context key 'golden.missing' is not set");
    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.mean", SW_TYPE_INT, &out, &err), -1);
    ck_assert_str_eq(err.msg, "context key 'golden.mean': expected int, got double");

    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.pass_rate", SW_TYPE_STRING, &out, &err), 0);
    ck_assert_str_eq(out->as.s, "high");
    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.mean", SW_TYPE_DOUBLE, &out, &err), 0);
    ck_assert(out->as.d == 1.5);
    /* An int satisfies double; the caller sees it is still an int. */
    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.cases", SW_TYPE_DOUBLE, &out, &err), 0);
    ck_assert(out->type == SW_TYPE_INT && out->as.i == 7);
    ck_assert_int_eq(sw_context_get_typed(ctx, "golden.cases", SW_TYPE_ANY, &out, &err), 0);
    ck_assert_int_eq(out->type, SW_TYPE_INT);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_flags_and_generation)
{
    sw_context *ctx = sw_context_new();
    unsigned long long g0 = sw_context_generation(ctx);
    set_str(ctx, "env.TOKEN", "hunter2", "env");
    ck_assert(sw_context_generation(ctx) > g0);
    unsigned long long g1 = sw_context_generation(ctx);
    sw_value v = sw_value_string("s3cr3t");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    ck_assert(sw_context_generation(ctx) > g1);
    ck_assert_uint_eq(sw_context_flags(ctx, "env.TOKEN"), SW_CTX_SECRET);
    ck_assert_uint_eq(sw_context_flags_at(ctx, 0), SW_CTX_SECRET);
    ck_assert_uint_eq(sw_context_flags(ctx, "absent"), 0);
    /* Even an unchanged rewrite counts: a reader cannot tell otherwise. */
    unsigned long long g2 = sw_context_generation(ctx);
    v = sw_value_string("s3cr3t");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    ck_assert(sw_context_generation(ctx) > g2);
    /* Flags are the last writer's (a value holding a secret's text keeps it:
       see test_secret_taint). */
    set_str(ctx, "env.TOKEN", "public", "env");
    ck_assert_uint_eq(sw_context_flags(ctx, "env.TOKEN"), 0);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_unchanged_rewrite_keeps_buffers)
{
    sw_context *ctx = sw_context_new();
    set_str(ctx, "release.id", "r-1", "release");
    const char *before = sw_context_get(ctx, "release.id")->as.s;
    const char *writer = sw_context_writer(ctx, "release.id");
    set_str(ctx, "release.id", "r-1", "release");
    ck_assert_ptr_eq(sw_context_get(ctx, "release.id")->as.s, before);
    ck_assert_ptr_eq(sw_context_writer(ctx, "release.id"), writer);
    set_str(ctx, "release.id", "r-2", "release");
    ck_assert_str_eq(sw_context_get(ctx, "release.id")->as.s, "r-2");
    ck_assert_ptr_eq(sw_context_writer(ctx, "release.id"), writer);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_self_aliasing)
{
    /* Writing a value read from the context itself, across table and array growth. */
    sw_context *ctx = sw_context_new();
    set_str(ctx, "k.0", "seed", "w0");
    for (int i = 1; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof key, "k.%d", i);
        const sw_value *prev = sw_context_value_at(ctx, (size_t)i - 1);
        const char *prev_writer = sw_context_writer(ctx, sw_context_key_at(ctx, (size_t)i - 1));
        sw_context_set(ctx, key, prev, prev_writer, 0);
    }
    ck_assert_str_eq(sw_context_get(ctx, "k.299")->as.s, "seed");
    ck_assert_str_eq(sw_context_writer(ctx, "k.299"), "w0");
    /* Overwriting a key with another key's value, and with its own. */
    sw_value j = sw_value_json_text("{\"a\":1}");
    sw_context_set(ctx, "k.5", &j, "w1", 0);
    sw_value_free(&j);
    sw_context_set(ctx, "k.6", sw_context_get(ctx, "k.5"), sw_context_writer(ctx, "k.5"), 0);
    sw_context_set(ctx, "k.6", sw_context_get(ctx, "k.6"), sw_context_writer(ctx, "k.6"), 0);
    ck_assert_int_eq(sw_context_get(ctx, "k.6")->type, SW_TYPE_JSON);
    ck_assert_str_eq(sw_context_get(ctx, "k.6")->as.s, "{\"a\":1}");
    ck_assert_str_eq(sw_context_writer(ctx, "k.6"), "w1");
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_many_keys)
{
    sw_context *ctx = sw_context_new();
    char key[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "stage%d.output%d", i / 10, i % 10);
        set_int(ctx, key, i);
    }
    ck_assert_uint_eq(sw_context_count(ctx), 20000);
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "stage%d.output%d", i / 10, i % 10);
        const sw_value *v = sw_context_get(ctx, key);
        ck_assert_msg(v && v->as.i == i, "key %s", key);
        ck_assert_str_eq(sw_context_key_at(ctx, (size_t)i), key);
    }
    ck_assert_ptr_null(sw_context_get(ctx, "stage2000.output0"));
    /* Keys are any non-empty strings, dots or not. */
    set_int(ctx, "no-dot", 1);
    set_int(ctx, "ünïcødé.κλειδί", 2);
    ck_assert(sw_context_get(ctx, "ünïcødé.κλειδί")->as.i == 2);
    ck_assert(sw_context_get(ctx, "no-dot")->as.i == 1);
    sw_context_free(ctx);
}
END_TEST

static sw_context *sample_context(void)
{
    sw_context *ctx = sw_context_new();
    sw_value v;
    set_int(ctx, "golden.cases", 5);
    v = sw_value_double(5.0);
    sw_context_set(ctx, "golden.mean", &v, "golden", 0);
    v = sw_value_double(0.1);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_double(-0.0);
    sw_context_set(ctx, "golden.zero", &v, "golden", 0);
    v = sw_value_double(NAN);
    sw_context_set(ctx, "golden.nan", &v, "golden", 0);
    v = sw_value_double(INFINITY);
    sw_context_set(ctx, "golden.inf", &v, "golden", 0);
    v = sw_value_double(-INFINITY);
    sw_context_set(ctx, "golden.ninf", &v, "golden", 0);
    v = sw_value_int(9007199254740993LL);
    sw_context_set(ctx, "golden.big", &v, "golden", 0);
    v = sw_value_bool(1);
    sw_context_set(ctx, "golden.ok", &v, NULL, 0);
    sw_context_set(ctx, "golden.none", NULL, "golden", 0);
    set_str(ctx, "release.id", "r-é\"\n", "release");
    v = sw_value_json_text("{\"model\":\"gpt\",\"steps\":[5,25.0,{}]}");
    sw_context_set(ctx, "release.manifest", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_string("hunter2");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    return ctx;
}

START_TEST(test_to_json_shape)
{
    sw_context *ctx = sample_context();
    json_t *j = sw_context_to_json(ctx);
    ck_assert(json_is_object(j));
    ck_assert_ptr_null(json_object_get(j, "env.TOKEN"));
    char *text = json_dumps(j, JSON_COMPACT);
    ck_assert_ptr_null(strstr(text, "hunter2"));
    /* Insertion order, JSON embedded as JSON, the non-finite spellings. */
    ck_assert_ptr_nonnull(
        strstr(text, "{\"golden.cases\":{\"type\":\"int\",\"value\":5,\"writer\":\"test\"},"
                     "\"golden.mean\":{\"type\":\"double\",\"value\":5.0,\"writer\":\"golden\"}"));
    ck_assert_ptr_nonnull(strstr(
        text, "\"release.manifest\":{\"type\":\"json\",\"value\":{\"model\":\"gpt\",\"steps\":[5,"
              "25.0,{}]},\"writer\":\"release\"}"));
    ck_assert_ptr_nonnull(strstr(text, "\"golden.nan\":{\"type\":\"double\",\"value\":\"nan\""));
    ck_assert_ptr_nonnull(strstr(text, "\"golden.ninf\":{\"type\":\"double\",\"value\":\"-inf\""));
    ck_assert_ptr_nonnull(strstr(text, "\"golden.ok\":{\"type\":\"bool\",\"value\":true}"));
    ck_assert_ptr_nonnull(strstr(text, "\"golden.zero\":{\"type\":\"double\",\"value\":-0.0,"));
    free(text);
    json_decref(j);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_round_trip)
{
    sw_context *ctx = sample_context();
    json_t *j1 = sw_context_to_json(ctx);
    char *text = json_dumps(j1, JSON_COMPACT);
    json_error_t jerr;
    json_t *parsed = json_loads(text, 0, &jerr);
    ck_assert_msg(parsed != NULL, "%s", jerr.text);
    sw_err err = {{0}};
    sw_context *back = sw_context_from_json(parsed, &err);
    ck_assert_msg(back != NULL, "%s", err.msg);
    json_t *j2 = sw_context_to_json(back);
    ck_assert(json_equal(j1, j2));
    char *text2 = json_dumps(j2, JSON_COMPACT);
    ck_assert_str_eq(text, text2); /* same order, same spelling */

    /* Every non-secret entry comes back identical, in order. */
    ck_assert_uint_eq(sw_context_count(back), sw_context_count(ctx) - 1);
    for (size_t i = 0; i < sw_context_count(back); i++) {
        const char *key = sw_context_key_at(back, i);
        ck_assert_str_eq(key, sw_context_key_at(ctx, i));
        ck_assert_msg(sw_value_equal(sw_context_value_at(back, i), sw_context_get(ctx, key)),
                      "key %s", key);
        const char *w1 = sw_context_writer(ctx, key), *w2 = sw_context_writer(back, key);
        ck_assert((w1 == NULL) == (w2 == NULL));
        if (w1)
            ck_assert_str_eq(w1, w2);
    }
    ck_assert_int_eq(sw_context_get(back, "golden.cases")->type, SW_TYPE_INT);
    ck_assert_int_eq(sw_context_get(back, "golden.mean")->type, SW_TYPE_DOUBLE);
    ck_assert(signbit(sw_context_get(back, "golden.zero")->as.d));
    ck_assert(isnan(sw_context_get(back, "golden.nan")->as.d));
    ck_assert(sw_context_get(back, "golden.big")->as.i == 9007199254740993LL);
    ck_assert_ptr_null(sw_context_get(back, "env.TOKEN"));

    free(text);
    free(text2);
    json_decref(j1);
    json_decref(j2);
    json_decref(parsed);
    sw_context_free(back);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_from_json_accepts)
{
    sw_err err = {{0}};
    json_t *j = json_loads("{\"a.d\":{\"type\":\"double\",\"value\":5},"
                           "\"a.w\":{\"type\":\"string\",\"value\":\"x\",\"writer\":null},"
                           "\"a.j\":{\"type\":\"json\",\"value\":[1, 2]}}",
                           0, NULL);
    sw_context *ctx = sw_context_from_json(j, &err);
    ck_assert_msg(ctx != NULL, "%s", err.msg);
    const sw_value *d = sw_context_get(ctx, "a.d");
    ck_assert(d->type == SW_TYPE_DOUBLE && d->as.d == 5.0);
    ck_assert_ptr_null(sw_context_writer(ctx, "a.w"));
    ck_assert_str_eq(sw_context_get(ctx, "a.j")->as.s, "[1,2]");
    sw_context_free(ctx);
    json_decref(j);

    j = json_object();
    ctx = sw_context_from_json(j, &err);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_uint_eq(sw_context_count(ctx), 0);
    sw_context_free(ctx);
    json_decref(j);
}
END_TEST

static void expect_error(const char *text, const char *want)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(j != NULL, "test input %s: %s", text, jerr.text);
    sw_err err = {{0}};
    sw_context *ctx = sw_context_from_json(j, &err);
    ck_assert_msg(ctx == NULL, "accepted %s", text);
    ck_assert_str_eq(err.msg, want);
    json_decref(j);
}

START_TEST(test_from_json_errors)
{
    expect_error("[]", "expected an object, got an array");
    expect_error("{\"x\":{\"type\":\"foo\",\"value\":1}}", "key 'x': unknown type 'foo'");
    expect_error("{\"x\":{\"type\":\"any\",\"value\":1}}", "key 'x': unknown type 'any'");
    expect_error("{\"x\":{\"type\":\"boolean\",\"value\":true}}",
                 "key 'x': unknown type 'boolean'");
    expect_error("{\"x\":5}", "key 'x': expected an object, got an integer");
    expect_error("{\"x\":{\"value\":1}}", "key 'x': missing \"type\"");
    expect_error("{\"x\":{\"type\":3,\"value\":1}}",
                 "key 'x': \"type\" must be a string, got an integer");
    expect_error("{\"x\":{\"type\":\"int\"}}", "key 'x': missing \"value\"");
    expect_error("{\"x\":{\"type\":\"int\",\"value\":5.0}}",
                 "key 'x': value of type int cannot be a real");
    expect_error("{\"x\":{\"type\":\"double\",\"value\":\"NaN\"}}",
                 "key 'x': value of type double must be a number or \"nan\", "
                 "\"inf\", \"-inf\", got a string");
    expect_error("{\"x\":{\"type\":\"json\",\"value\":\"{}\"}}",
                 "key 'x': value of type json cannot be a string");
    expect_error("{\"x\":{\"type\":\"null\",\"value\":0}}",
                 "key 'x': value of type null cannot be an integer");
    expect_error("{\"x\":{\"type\":\"bool\",\"value\":1}}",
                 "key 'x': value of type bool cannot be an integer");
    expect_error("{\"x\":{\"type\":\"string\",\"value\":null}}",
                 "key 'x': value of type string cannot be null");
    expect_error("{\"x\":{\"type\":\"string\",\"value\":\"a\",\"writer\":7}}",
                 "key 'x': \"writer\" must be a string, got an integer");
    expect_error("{\"x\":{\"type\":\"string\",\"value\":\"a\",\"flags\":1}}",
                 "key 'x': unknown field 'flags'");
    expect_error("{\"ok\":{\"type\":\"int\",\"value\":1},\"\":{\"type\":\"int\",\"value\":1}}",
                 "empty key");

    /* A string holding U+0000 cannot be a C string. */
    json_t *j = json_object();
    json_t *item = json_object();
    json_object_set_new(item, "type", json_string("string"));
    json_object_set_new(item, "value", json_stringn("a\0b", 3));
    json_object_set_new(j, "x", item);
    sw_err err = {{0}};
    ck_assert_ptr_null(sw_context_from_json(j, &err));
    ck_assert_str_eq(err.msg, "key 'x': string contains a NUL character (\\u0000)");
    json_decref(j);
    ck_assert_ptr_null(sw_context_from_json(NULL, &err));
}
END_TEST

/* A value derived from a secret is a secret: kept out of the checkpoint. */
START_TEST(test_secret_taint)
{
    sw_context *ctx = sw_context_new();
    sw_value v = sw_value_string("tok\"en-1234");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    v = sw_value_string("abc");
    sw_context_set(ctx, "env.SHORT", &v, "env", SW_CTX_SECRET); /* too short to track */
    sw_value_free(&v);

    set_str(ctx, "a.copy", "Bearer tok\"en-1234!", "a");
    set_str(ctx, "a.plain", "nothing here but abc", "a");
    v = sw_value_json_text("{\"auth\":\"tok\\\"en-1234\"}");
    sw_context_set(ctx, "a.doc", &v, "a", 0);
    sw_value_free(&v);
    set_int(ctx, "a.n", 1234);
    ck_assert_uint_eq(sw_context_flags(ctx, "a.copy"), SW_CTX_SECRET);
    ck_assert_uint_eq(sw_context_flags(ctx, "a.doc"), SW_CTX_SECRET);
    ck_assert_uint_eq(sw_context_flags(ctx, "a.plain"), 0);
    ck_assert_uint_eq(sw_context_flags(ctx, "a.n"), 0);
    /* Rewritten without the secret, the key is ordinary again. */
    set_str(ctx, "a.copy", "Bearer ***", "a");
    ck_assert_uint_eq(sw_context_flags(ctx, "a.copy"), 0);
    set_str(ctx, "a.copy", "tok\"en-1234", "a");
    ck_assert_uint_eq(sw_context_flags(ctx, "a.copy"), SW_CTX_SECRET);

    json_t *j = sw_context_to_json(ctx);
    char *text = json_dumps(j, JSON_COMPACT);
    ck_assert_ptr_null(strstr(text, "1234\""));
    ck_assert_ptr_null(strstr(text, "en-1234"));
    ck_assert_ptr_nonnull(json_object_get(j, "a.plain"));
    ck_assert_ptr_null(json_object_get(j, "a.doc"));
    free(text);
    json_decref(j);
    sw_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_set_get);
    tcase_add_test(tc, test_order_and_index);
    tcase_add_test(tc, test_typed_get);
    tcase_add_test(tc, test_flags_and_generation);
    tcase_add_test(tc, test_unchanged_rewrite_keeps_buffers);
    tcase_add_test(tc, test_self_aliasing);
    tcase_add_test(tc, test_many_keys);
    tcase_add_test(tc, test_to_json_shape);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_from_json_accepts);
    tcase_add_test(tc, test_from_json_errors);
    tcase_add_test(tc, test_secret_taint);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
