/* check_refs.c - ${...} references: parsing, checking against a scope, resolving. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/refs.h"

#include "diag_check.h"

/* ---- parsing ---- */

static const struct {
    const char *text;
    size_t n;
    int whole;
    const char *first_key;
    size_t first_start, first_end;
} parse_cases[] = {
    {"${release.id}", 1, 1, "release.id", 0, 13},
    {"x ${a.b} y ${c.d}", 2, 0, "a.b", 2, 8},
    {"${a.b}${c.d}", 2, 0, "a.b", 0, 6},
    {"${a.b} ", 1, 0, "a.b", 0, 6},
    {"$${a.b}", 0, 0, NULL, 0, 0},
    {"$${a.b} ${c.d}", 1, 0, "c.d", 8, 14},
    {"$$${a.b}", 0, 0, NULL, 0, 0},
    {"plain text", 0, 0, NULL, 0, 0},
    {"", 0, 0, NULL, 0, 0},
    {"$", 0, 0, NULL, 0, 0},
    {"cost: $5 {x}", 0, 0, NULL, 0, 0},
    {"${env.HOME_DIR}", 1, 1, "env.HOME_DIR", 0, 15},
    {"${_A9.b_C}", 1, 1, "_A9.b_C", 0, 10},
    {"a}${b.c}{", 1, 0, "b.c", 2, 8},
};

START_TEST(test_parse_table)
{
    sw_refs refs;
    sw_err err;
    const char *text = parse_cases[_i].text;
    ck_assert_msg(sw_refs_parse(text, &refs, &err) == 0, "'%s': %s", text, err.msg);
    ck_assert_uint_eq(refs.n, parse_cases[_i].n);
    ck_assert_int_eq(refs.whole, parse_cases[_i].whole);
    if (parse_cases[_i].first_key) {
        ck_assert_str_eq(refs.items[0].key, parse_cases[_i].first_key);
        ck_assert_uint_eq(refs.items[0].start, parse_cases[_i].first_start);
        ck_assert_uint_eq(refs.items[0].end, parse_cases[_i].first_end);
    }
    ck_assert_int_eq(sw_refs_has_any(text), parse_cases[_i].n > 0);
    sw_refs_free(&refs);
}
END_TEST

static const struct {
    const char *text, *msg;
} bad_cases[] = {
    {"${a.b", "unterminated '${' at byte 0"},
    {"ok ${a.b} ${c", "unterminated '${' at byte 10"},
    {"x ${}", "empty reference '${}' at byte 2"},
    {"${a}", "bad key 'a' at byte 0"},
    {"${a.b.c}", "bad key 'a.b.c' at byte 0"},
    {"${1a.b}", "bad key '1a.b'"},
    {"${a.}", "bad key 'a.'"},
    {"${.b}", "bad key '.b'"},
    {"${ a.b}", "bad key ' a.b'"},
    {"${a-b.c}", "bad key 'a-b.c'"},
    {"${a.${b.c}}", "bad key 'a.${b.c'"},
};

START_TEST(test_parse_malformed)
{
    sw_refs refs = {.n = 99};
    sw_err err;
    ck_assert_int_eq(sw_refs_parse(bad_cases[_i].text, &refs, &err), -1);
    ck_assert_msg(strstr(err.msg, bad_cases[_i].msg), "'%s': %s", bad_cases[_i].text, err.msg);
    ck_assert_uint_eq(refs.n, 0);
    ck_assert_ptr_null(refs.items);
    sw_refs_free(&refs);
}
END_TEST

START_TEST(test_has_any)
{
    ck_assert_int_eq(sw_refs_has_any(NULL), 0);
    ck_assert_int_eq(sw_refs_has_any("$${x} and $${y}"), 0);
    ck_assert_int_eq(sw_refs_has_any("$${x} ${"), 1);
    ck_assert_int_eq(sw_refs_has_any("${"), 1);
}
END_TEST

/* ---- checking ---- */

static int scope(void *ud, const char *key, sw_type *type, const char **why)
{
    static const struct {
        const char *key;
        sw_type type;
    } known[] = {{"release.id", SW_TYPE_STRING},
                 {"release.manifest", SW_TYPE_JSON},
                 {"golden.pass_rate", SW_TYPE_DOUBLE},
                 {"vars.n", SW_TYPE_INT}};
    int *calls = ud;
    (*calls)++;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(key, known[i].key) == 0) {
            *type = known[i].type;
            return 1;
        }
    }
    if (strcmp(key, "golden.pass_rat") == 0)
        *why = "stage 'golden' has no output 'pass_rat' (did you mean 'pass_rate'?)";
    return 0;
}

static const char *check_yaml = "whole: ${golden.pass_rate}\n"
                                "json: ${release.manifest}\n"
                                "interp: 'id ${release.id}'\n"
                                "none: plain\n"
                                "escaped: $${golden.nope}\n"
                                "typo: ${golden.pass_rat}\n"
                                "later: ${later.x}\n"
                                "nested:\n"
                                "  list: [ok, '${later.y}', {k: '${golden.pass_rat}'}]\n"
                                "bad: 'x ${oops'\n"
                                "good_map: {a: '${vars.n}', b: 2}\n";

START_TEST(test_check_node)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string(check_yaml, strlen(check_yaml), "c.yaml", d);
    ck_assert_ptr_nonnull(doc);
    int calls = 0;
    sw_type t = SW_TYPE_NULL;

#define CHECK(key, rc, want)                                                                       \
    do {                                                                                           \
        t = SW_TYPE_NULL;                                                                          \
        ck_assert_int_eq(                                                                          \
            sw_refs_check_node(doc, sw_ynode_get(doc->root, key), scope, &calls, &t, d), rc);      \
        ck_assert_msg(t == (want), "%s: %s", key, sw_type_name(t));                                \
    } while (0)

    CHECK("whole", 0, SW_TYPE_DOUBLE);
    CHECK("json", 0, SW_TYPE_JSON);
    CHECK("interp", 0, SW_TYPE_STRING);
    CHECK("none", 0, SW_TYPE_ANY);
    CHECK("escaped", 0, SW_TYPE_ANY);
    CHECK("good_map", 0, SW_TYPE_ANY);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    ck_assert_int_eq(calls, 4);

    CHECK("typo", -1, SW_TYPE_ANY);
    ck_assert(has_diag(d,
                       "reference '${golden.pass_rat}': stage 'golden' has no output 'pass_rat' "
                       "(did you mean 'pass_rate'?)",
                       6, 7));
    CHECK("later", -1, SW_TYPE_ANY);
    ck_assert(has_diag(d, "reference '${later.x}': no such value here", 7, 8));
    /* Every bad reference inside a collection, each at its own scalar. */
    CHECK("nested", -1, SW_TYPE_ANY);
    ck_assert(has_diag(d, "reference '${later.y}': no such value here", 9, 14));
    ck_assert(has_diag(d, "reference '${golden.pass_rat}'", 9, 32));
    CHECK("bad", -1, SW_TYPE_ANY);
    ck_assert(has_diag(d, "unterminated '${' at byte 2 in 'x ${oops'", 10, 6));
    if (sw_diags_errors(d) != 5)
        dump(d);
    ck_assert_uint_eq(sw_diags_errors(d), 5);
    ck_assert_str_eq(sw_diags_at(d, 0)->file, "c.yaml");

    /* Without a scope only the syntax is checked; NULL type and diags are fine. */
    ck_assert_int_eq(sw_refs_check_node(doc, sw_ynode_get(doc->root, "later"), NULL, NULL, &t, d),
                     0);
    ck_assert_int_eq(t, SW_TYPE_ANY);
    ck_assert_int_eq(
        sw_refs_check_node(doc, sw_ynode_get(doc->root, "typo"), scope, &calls, NULL, NULL), -1);
    ck_assert_int_eq(sw_refs_check_node(doc, NULL, scope, &calls, &t, d), 0);
#undef CHECK
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

/* ---- resolving ---- */

static sw_context *make_ctx(void)
{
    sw_context *ctx = sw_context_new();
    sw_value v = sw_value_string("r-1");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_double(0.97);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_int(5);
    sw_context_set(ctx, "vars.n", &v, "vars", 0);
    v = sw_value_bool(1);
    sw_context_set(ctx, "vars.on", &v, "vars", 0);
    v = sw_value_json_text("{\"a\":1}");
    sw_context_set(ctx, "vars.obj", &v, "vars", 0);
    sw_value_free(&v);
    v = sw_value_string("s3cr3t");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    return ctx;
}

START_TEST(test_resolve)
{
    sw_context *ctx = make_ctx();
    sw_value v;
    sw_err err;
    int secret = -1;

    ck_assert_int_eq(sw_refs_resolve_string("${golden.pass_rate}", ctx, &v, &secret, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_DOUBLE);
    ck_assert(v.as.d == 0.97);
    ck_assert_int_eq(secret, 0);

    ck_assert_int_eq(sw_refs_resolve_string("${vars.obj}", ctx, &v, &secret, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_JSON);
    ck_assert_str_eq(v.as.s, "{\"a\":1}");
    sw_value_free(&v);

    ck_assert_int_eq(sw_refs_resolve_string("id=${release.id} n=${vars.n} r=${golden.pass_rate} "
                                            "on=${vars.on} o=${vars.obj}",
                                            ctx, &v, &secret, &err),
                     0);
    ck_assert_int_eq(v.type, SW_TYPE_STRING);
    ck_assert_str_eq(v.as.s, "id=r-1 n=5 r=0.97 on=true o={\"a\":1}");
    ck_assert_int_eq(secret, 0);
    sw_value_free(&v);

    ck_assert_int_eq(sw_refs_resolve_string("Bearer ${env.TOKEN}", ctx, &v, &secret, &err), 0);
    ck_assert_str_eq(v.as.s, "Bearer s3cr3t");
    ck_assert_int_eq(secret, 1);
    sw_value_free(&v);
    ck_assert_int_eq(sw_refs_resolve_string("${env.TOKEN}", ctx, &v, &secret, &err), 0);
    ck_assert_int_eq(secret, 1);
    sw_value_free(&v);

    ck_assert_int_eq(sw_refs_resolve_string("$${literal} ${vars.n} $$x $", ctx, &v, &secret, &err),
                     0);
    ck_assert_str_eq(v.as.s, "${literal} 5 $$x $");
    ck_assert_int_eq(secret, 0);
    sw_value_free(&v);
    ck_assert_int_eq(sw_refs_resolve_string("$${vars.n}", ctx, &v, NULL, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_STRING);
    ck_assert_str_eq(v.as.s, "${vars.n}");
    sw_value_free(&v);
    ck_assert_int_eq(sw_refs_resolve_string("", ctx, &v, NULL, &err), 0);
    ck_assert_str_eq(v.as.s, "");
    sw_value_free(&v);

    ck_assert_int_eq(sw_refs_resolve_string("${nope.x}", ctx, &v, &secret, &err), -1);
    ck_assert_str_eq(err.msg, "reference '${nope.x}': context key 'nope.x' is not set");
    ck_assert_int_eq(sw_refs_resolve_string("a ${vars.n} ${nope.y}", ctx, &v, &secret, &err), -1);
    ck_assert_str_eq(err.msg, "reference '${nope.y}': context key 'nope.y' is not set");
    ck_assert_int_eq(sw_refs_resolve_string("${vars.n", ctx, &v, &secret, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "unterminated"));
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_type_compatible)
{
    static const struct {
        sw_type have, want;
        int ok;
    } cases[] = {
        {SW_TYPE_INT, SW_TYPE_INT, 1},       {SW_TYPE_INT, SW_TYPE_DOUBLE, 1},
        {SW_TYPE_DOUBLE, SW_TYPE_INT, 0},    {SW_TYPE_BOOL, SW_TYPE_STRING, 1},
        {SW_TYPE_INT, SW_TYPE_STRING, 1},    {SW_TYPE_DOUBLE, SW_TYPE_STRING, 1},
        {SW_TYPE_JSON, SW_TYPE_STRING, 0},   {SW_TYPE_NULL, SW_TYPE_STRING, 0},
        {SW_TYPE_STRING, SW_TYPE_DOUBLE, 0}, {SW_TYPE_STRING, SW_TYPE_JSON, 0},
        {SW_TYPE_JSON, SW_TYPE_JSON, 1},     {SW_TYPE_JSON, SW_TYPE_ANY, 1},
        {SW_TYPE_NULL, SW_TYPE_ANY, 1},      {SW_TYPE_ANY, SW_TYPE_INT, 1},
        {SW_TYPE_BOOL, SW_TYPE_INT, 0},      {SW_TYPE_STRING, SW_TYPE_BOOL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(sw_type_compatible(cases[i].have, cases[i].want) == cases[i].ok,
                      "%s where %s is wanted", sw_type_name(cases[i].have),
                      sw_type_name(cases[i].want));
}
END_TEST

static Suite *refs_suite(void)
{
    Suite *s = suite_create("refs");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_parse_table, 0, (int)(sizeof parse_cases / sizeof parse_cases[0]));
    tcase_add_loop_test(tc, test_parse_malformed, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_has_any);
    tcase_add_test(tc, test_check_node);
    tcase_add_test(tc, test_resolve);
    tcase_add_test(tc, test_type_compatible);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(refs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
