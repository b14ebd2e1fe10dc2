/* check_params.c - `with:` checked against a parameter table and bound into a config struct. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/params.h"

#include "diag_check.h"

typedef struct test_cfg {
    int flag;
    int64_t count;
    int64_t timeout_ms;
    double threshold;
    const char *name;
    const char *dataset;
    const char *token;
    const char *steps;
    const char *extra;
    const char *label;
    double ratio;
} test_cfg;

static const sw_param params[] = {
    {"flag", SW_TYPE_BOOL, 0, "true", offsetof(test_cfg, flag), "a bool"},
    {"count", SW_TYPE_INT, 0, "3", offsetof(test_cfg, count), "an int"},
    {"timeout", SW_TYPE_INT, SW_PARAM_DURATION, "30s", offsetof(test_cfg, timeout_ms), "ms"},
    {"threshold", SW_TYPE_DOUBLE, 0, "0.95", offsetof(test_cfg, threshold), "a double"},
    {"name", SW_TYPE_STRING, 0, "default-name", offsetof(test_cfg, name), "a string"},
    {"dataset", SW_TYPE_STRING, SW_PARAM_REQUIRED | SW_PARAM_PATH, NULL,
     offsetof(test_cfg, dataset), "a path"},
    {"token", SW_TYPE_STRING, SW_PARAM_SECRET, NULL, offsetof(test_cfg, token), "a secret"},
    {"steps", SW_TYPE_JSON, 0, "[5, 25]", offsetof(test_cfg, steps), "json"},
    {"extra", SW_TYPE_ANY, 0, NULL, offsetof(test_cfg, extra), "anything"},
    {"label", SW_TYPE_STRING, 0, NULL, offsetof(test_cfg, label), "no default"},
    {"ratio", SW_TYPE_DOUBLE, 0, "1", offsetof(test_cfg, ratio), "an int default, widened"},
    {NULL, 0, 0, NULL, 0, NULL},
};

/* What the checker would know before stage 'golden'. */
static int scope(void *ud, const char *key, sw_type *type, const char **why)
{
    static const struct {
        const char *key;
        sw_type type;
    } known[] = {{"release.id", SW_TYPE_STRING},       {"release.manifest", SW_TYPE_JSON},
                 {"golden.pass_rate", SW_TYPE_DOUBLE}, {"vars.n", SW_TYPE_INT},
                 {"vars.t", SW_TYPE_STRING},           {"env.TOKEN", SW_TYPE_STRING}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(key, known[i].key) == 0) {
            *type = known[i].type;
            return 1;
        }
    }
    if (strncmp(key, "later.", 6) == 0)
        *why = "stage 'later' runs after this one";
    return 0;
}

static sw_ydoc *yaml(const char *text)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_string(text, strlen(text), "p.yaml", d);
    if (!doc)
        dump(d);
    ck_assert_ptr_nonnull(doc);
    sw_diags_free(d);
    return doc;
}

/* Check `with:` text (a mapping); expect `errors` errors, one of them msg at line:col. */
static void expect_check(const char *with_text, int errors, const char *msg, int line, int col)
{
    sw_ydoc *doc = yaml(with_text);
    sw_diags *d = sw_diags_new();
    int n = sw_params_check(params, doc, NULL, doc->root, "golden", scope, NULL, d);
    if (n != errors || (msg && !has_diag(d, msg, line, col)))
        dump(d);
    ck_assert_msg(n == errors, "%s: %d errors, want %d", with_text, n, errors);
    ck_assert_uint_eq(sw_diags_errors(d), (size_t)errors);
    if (msg)
        ck_assert_msg(has_diag(d, msg, line, col), "want '%s' at %d:%d", msg, line, col);
    sw_diags_free(d);
    sw_ydoc_free(doc);
}

#define DS "dataset: d.jsonl\n"

START_TEST(test_check_valid)
{
    expect_check(DS, 0, NULL, 0, 0);
    expect_check(DS "flag: false\ncount: -4\ntimeout: 250ms\nthreshold: 1\nname: 42\ntoken: x\n"
                    "steps: {a: [1, 2]}\nextra: [1, {b: c}]\nlabel: true\nratio: 0.5\n",
                 0, NULL, 0, 0);
    expect_check(DS "timeout: 10\n", 0, NULL, 0, 0);
    expect_check(DS "timeout: 1.5\n", 0, NULL, 0, 0);
    expect_check(DS "timeout: 1h30m\n", 0, NULL, 0, 0);
    expect_check(DS "extra: ~\nname: \"\"\n", 0, NULL, 0, 0);
    /* References of a fitting type, and escapes that are no reference at all. */
    expect_check(DS "threshold: ${vars.n}\ncount: ${vars.n}\nname: ${golden.pass_rate}\n"
                    "steps: ${release.manifest}\nextra: ${release.id}\ntimeout: ${vars.t}\n"
                    "label: 'v=${vars.n} id=${release.id}'\ntoken: ${env.TOKEN}\n"
                    "flag: $${literal}x\n",
                 1, "parameter 'flag' expects bool, but '$${literal}x' is a string", 10, 7);
    expect_check(DS "steps: [5, '${vars.n}', {id: '${release.id}'}]\n", 0, NULL, 0, 0);
}
END_TEST

START_TEST(test_check_unknown_and_missing)
{
    expect_check(DS "treshold: 0.5\n", 1,
                 "stage 'golden': unknown parameter 'treshold' (did you mean 'threshold'?)", 2, 1);
    expect_check(DS "falg: true\n", 1,
                 "stage 'golden': unknown parameter 'falg' (did you mean 'flag'?)", 2, 1);
    expect_check(DS "zzz: 1\n", 1, "stage 'golden': unknown parameter 'zzz'", 2, 1);
    expect_check("count: 1\nname: x\n", 1, "stage 'golden': missing required parameter 'dataset'",
                 1, 1);
    /* Everything at once. */
    expect_check("treshold: 0.5\nflag: yes\n", 3, "missing required parameter 'dataset'", 1, 1);

    sw_ydoc *doc = yaml("x: 1\n");
    sw_diags *d = sw_diags_new();
    ck_assert_int_eq(sw_params_check(params, doc, NULL, NULL, "golden", scope, NULL, d), 1);
    ck_assert(has_diag(d, "stage 'golden': missing required parameter 'dataset'", 0, 0));
    ck_assert_str_eq(sw_diags_at(d, 0)->file, "p.yaml");
    /* With the stage's node, the error points at the stage. */
    ck_assert_int_eq(sw_params_check(params, doc, doc->root, NULL, "golden", scope, NULL, d), 1);
    ck_assert(has_diag(d, "stage 'golden': missing required parameter 'dataset'", 1, 1));
    /* A plugin without parameters. */
    ck_assert_int_eq(sw_params_check(NULL, doc, NULL, doc->root, "s", scope, NULL, d), 1);
    ck_assert(has_diag(d, "stage 's': unknown parameter 'x'", 1, 1));
    ck_assert_int_eq(
        sw_params_check(params, doc, NULL, sw_ynode_get(doc->root, "x"), "s", scope, NULL, d), 1);
    ck_assert(has_diag(d, "stage 's': 'with' must be a mapping", 1, 4));
    /* NULL diags still count. */
    ck_assert_int_eq(sw_params_check(params, doc, NULL, doc->root, "s", scope, NULL, NULL), 2);
    sw_diags_free(d);
    sw_ydoc_free(doc);
}
END_TEST

static const struct {
    const char *with, *msg;
    int line, col;
} type_cases[] = {
    {DS "flag: yes\n", "stage 'golden': parameter 'flag' expects bool, but 'yes' is a string", 2,
     7},
    {DS "flag: 1\n", "parameter 'flag' expects bool, but '1' is an int", 2, 7},
    {DS "flag:\n", "parameter 'flag' expects bool, but the value is null", 2, 6},
    {DS "count: 1.5\n", "parameter 'count' expects int, but '1.5' is a double", 2, 8},
    {DS "count: '5'\n", "parameter 'count' expects int, but '5' is a string", 2, 8},
    {DS "count: 99999999999999999999\n",
     "parameter 'count': integer '99999999999999999999' is out of range", 2, 8},
    {DS "count: [1]\n", "parameter 'count' expects int, but the value is a sequence", 2, 8},
    {DS "timeout: soon\n", "parameter 'timeout': invalid duration 'soon'", 2, 10},
    {DS "timeout: -1s\n", "parameter 'timeout': a duration cannot be negative", 2, 10},
    {DS "timeout: true\n", "parameter 'timeout' expects a duration, but 'true' is a bool", 2, 10},
    {DS "threshold: high\n", "parameter 'threshold' expects double, but 'high' is a string", 2, 12},
    {DS "name: ~\n", "parameter 'name' expects string, but the value is null", 2, 7},
    {DS "name: {a: 1}\n", "parameter 'name' expects string, but the value is a mapping", 2, 7},
    {DS "steps: 5\n",
     "parameter 'steps' expects json (a mapping or a sequence), but '5' is a scalar", 2, 8},
    {DS "extra: [1, .nan]\n", "parameter 'extra': '.nan' at line 2 has no JSON form", 2, 8},
    {DS "threshold: ${release.id}\n",
     "stage 'golden': parameter 'threshold' expects double, but '${release.id}' is a string", 2,
     12},
    {DS "count: ${golden.pass_rate}\n",
     "parameter 'count' expects int, but '${golden.pass_rate}' is a double", 2, 8},
    {DS "count: 'n=${vars.n}'\n", "parameter 'count' expects int, but 'n=${vars.n}' is a string", 2,
     8},
    {DS "steps: ${release.id}\n", "parameter 'steps' expects json, but '${release.id}' is a string",
     2, 8},
    {DS "name: ${release.manifest}\n",
     "parameter 'name' expects string, but '${release.manifest}' is a json", 2, 7},
    {DS "name: ${later.x}\n", "reference '${later.x}': stage 'later' runs after this one", 2, 7},
    {DS "name: ${nothing.here}\n", "reference '${nothing.here}': no such value here", 2, 7},
    {DS "name: 'x ${oops'\n", "unterminated '${' at byte 2", 2, 7},
    {DS "steps: [1, '${later.y}']\n", "reference '${later.y}': stage 'later' runs after this one",
     2, 12},
};

START_TEST(test_check_types)
{
    expect_check(type_cases[_i].with, 1, type_cases[_i].msg, type_cases[_i].line,
                 type_cases[_i].col);
}
END_TEST

START_TEST(test_default_valid)
{
    sw_err err;
    for (const sw_param *p = params; p->name; p++)
        ck_assert_msg(sw_param_default_valid(p, &err) == 0, "%s: %s", p->name, err.msg);
    static const struct {
        sw_param p;
        const char *msg;
    } bad[] = {
        {{"b", SW_TYPE_BOOL, 0, "maybe", 0, NULL},
         "parameter 'b': default 'maybe' does not fit: expects bool, but 'maybe' is a string"},
        {{"i", SW_TYPE_INT, 0, "1.5", 0, NULL}, "expects int, but '1.5' is a double"},
        {{"t", SW_TYPE_INT, SW_PARAM_DURATION, "soon", 0, NULL}, "invalid duration 'soon'"},
        {{"d", SW_TYPE_DOUBLE, 0, "x", 0, NULL}, "expects double"},
        {{"j", SW_TYPE_JSON, 0, "5", 0, NULL}, "expects json"},
        {{"j", SW_TYPE_JSON, 0, "[1", 0, NULL}, "default '[1' is not valid YAML"},
        {{"i", SW_TYPE_INT, 0, "", 0, NULL}, "expects int, but the value is null"},
        {{"r", SW_TYPE_STRING, SW_PARAM_REQUIRED, "x", 0, NULL},
         "parameter 'r' is required, so it cannot have a default"},
        {{"n", SW_TYPE_NULL, 0, NULL, 0, NULL}, "parameter 'n' has no usable type"},
        {{"z", (sw_type)42, 0, NULL, 0, NULL}, "parameter 'z' has no usable type"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(sw_param_default_valid(&bad[i].p, &err) == -1, "%zu accepted", i);
        ck_assert_msg(strstr(err.msg, bad[i].msg), "%zu: %s", i, err.msg);
    }
    static const sw_param good[] = {
        {"s", SW_TYPE_STRING, 0, "", 0, NULL},
        {"s", SW_TYPE_STRING, 0, "42", 0, NULL},
        {"a", SW_TYPE_ANY, 0, "{x: [1]}", 0, NULL},
        {"j", SW_TYPE_JSON, 0, "{}", 0, NULL},
        {"t", SW_TYPE_INT, SW_PARAM_DURATION, "90", 0, NULL},
        {"d", SW_TYPE_DOUBLE, 0, ".inf", 0, NULL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(sw_param_default_valid(&good[i], &err) == 0, "%zu: %s", i, err.msg);
}
END_TEST

/* ---- binding ---- */

static sw_context *make_ctx(void)
{
    sw_context *ctx = sw_context_new();
    sw_value v = sw_value_string("r-1");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_double(0.75);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_int(5);
    sw_context_set(ctx, "vars.n", &v, "vars", 0);
    v = sw_value_string("2m");
    sw_context_set(ctx, "vars.t", &v, "vars", 0);
    sw_value_free(&v);
    v = sw_value_json_text("{\"k\":[1,2]}");
    sw_context_set(ctx, "release.manifest", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_string("s3cr3t");
    sw_context_set(ctx, "env.TOKEN", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    return ctx;
}

static char *shown_text(const json_t *shown)
{
    return json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS);
}

START_TEST(test_bind_values)
{
    sw_ydoc *doc = yaml("flag: false\n"
                        "count: ${vars.n}\n"
                        "timeout: ${vars.t}\n"
                        "threshold: ${golden.pass_rate}\n"
                        "name: 'Bearer ${env.TOKEN}'\n"
                        "dataset: data/golden.jsonl\n"
                        "token: ${env.TOKEN}\n"
                        "steps: [5, '${vars.n}', {r: '${release.id}', m: '${release.manifest}'},"
                        " 'n=${vars.n}', '$${x}']\n"
                        "extra: {a: '${vars.n}'}\n"
                        "ratio: 2\n");
    sw_context *ctx = make_ctx();
    sw_err err;
    json_t *shown = NULL;
    test_cfg *c =
        sw_params_bind(params, sizeof(test_cfg), doc->root, "/srv/pipes", ctx, &shown, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(c->flag, 0);
    ck_assert_int_eq(c->count, 5);
    ck_assert_int_eq(c->timeout_ms, 120000);
    ck_assert(c->threshold == 0.75);
    ck_assert_str_eq(c->name, "Bearer s3cr3t");
    ck_assert_str_eq(c->dataset, "/srv/pipes/data/golden.jsonl");
    ck_assert_str_eq(c->token, "s3cr3t");
    ck_assert_str_eq(c->steps, "[5,5,{\"r\":\"r-1\",\"m\":{\"k\":[1,2]}},\"n=5\",\"${x}\"]");
    ck_assert_str_eq(c->extra, "{\"a\":5}");
    ck_assert_ptr_null(c->label);
    ck_assert(c->ratio == 2.0);

    char *s = shown_text(shown);
    ck_assert_str_eq(s,
                     "{\"count\":5,\"dataset\":\"/srv/pipes/data/golden.jsonl\",\"extra\":{\"a\":"
                     "5},\"flag\":false,\"name\":\"***\",\"ratio\":2.0,\"steps\":[5,5,{\"m\":{"
                     "\"k\":[1,2]},\"r\":\"r-1\"},\"n=5\",\"${x}\"],\"threshold\":0.75,"
                     "\"timeout\":120000,\"token\":\"***\"}");
    free(s);
    json_decref(shown);
    sw_params_free(params, c);
    sw_context_free(ctx);
    sw_ydoc_free(doc);
}
END_TEST

START_TEST(test_bind_defaults_and_literals)
{
    sw_ydoc *doc = yaml("dataset: /abs/data.jsonl\nname: 42\nextra: hello\nlabel: '$${x}'\n"
                        "timeout: 1.5\nthreshold: 1\n");
    sw_err err;
    json_t *shown = NULL;
    test_cfg *c =
        sw_params_bind(params, sizeof(test_cfg), doc->root, "/srv/pipes", NULL, &shown, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    ck_assert_int_eq(c->flag, 1);
    ck_assert_int_eq(c->count, 3);
    ck_assert_int_eq(c->timeout_ms, 1500);
    ck_assert(c->threshold == 1.0);
    ck_assert_str_eq(c->name, "42");
    ck_assert_str_eq(c->dataset, "/abs/data.jsonl");
    ck_assert_ptr_null(c->token);
    ck_assert_str_eq(c->steps, "[5,25]");
    ck_assert_str_eq(c->extra, "\"hello\"");
    ck_assert_str_eq(c->label, "${x}");
    ck_assert(c->ratio == 1.0);
    ck_assert_ptr_null(json_object_get(shown, "token")); /* absent, no default */
    ck_assert_str_eq(json_string_value(json_object_get(shown, "name")), "42");
    ck_assert_int_eq(json_integer_value(json_object_get(shown, "timeout")), 1500);
    json_decref(shown);
    sw_params_free(params, c);
    sw_ydoc_free(doc);

    /* No `with:` at all but the required one missing; shown may be NULL. */
    c = sw_params_bind(params, sizeof(test_cfg), NULL, "/srv", NULL, NULL, &err);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err.msg, "parameter 'dataset': required but not set");

    /* ANY scalars keep their YAML type; a default of "" is the empty string. */
    static const sw_param small[] = {
        {"a", SW_TYPE_ANY, 0, "5", 0, NULL},
        {"s", SW_TYPE_STRING, 0, "", sizeof(char *), NULL},
        {NULL, 0, 0, NULL, 0, NULL},
    };
    char **fields = sw_params_bind(small, 2 * sizeof(char *), NULL, "/", NULL, NULL, &err);
    ck_assert_ptr_nonnull(fields);
    ck_assert_str_eq(fields[0], "5");
    ck_assert_str_eq(fields[1], "");
    sw_params_free(small, fields);
    sw_params_free(small, NULL);
}
END_TEST

static const struct {
    const char *with, *msg;
} bind_errors[] = {
    {"dataset: x\nthreshold: ${release.id}\n",
     "parameter 'threshold': expected double, got string"},
    {"dataset: x\ncount: ${nope.x}\n",
     "parameter 'count': reference '${nope.x}': context key 'nope.x' is not set"},
    {"dataset: x\ncount: ${golden.pass_rate}\n", "parameter 'count': expected int, got double"},
    {"dataset: x\nsteps: ${release.id}\n", "parameter 'steps': expected json, got string"},
    {"dataset: x\nname: ${release.manifest}\n", "parameter 'name': expected string, got json"},
    {"dataset: x\nflag: ${vars.n}\n", "parameter 'flag': expected bool, got int"},
    {"dataset: x\ntimeout: ${release.id}\n", "parameter 'timeout': invalid duration 'r-1'"},
    {"dataset: x\nsteps: [1, '${nope.y}']\n", "context key 'nope.y' is not set"},
    {"dataset: x\nextra: [.nan]\n", "parameter 'extra': '.nan' at line 2 has no JSON form"},
    {"dataset: x\ncount: 99999999999999999999\n", "parameter 'count': integer"},
    {"dataset: '${release.id'\n", "parameter 'dataset': unterminated '${'"},
    /* Later parameters fail after earlier strings were allocated: nothing leaks. */
    {"dataset: x\nname: n\nratio: ${release.id}\n", "parameter 'ratio': expected double"},
};

START_TEST(test_bind_errors)
{
    sw_ydoc *doc = yaml(bind_errors[_i].with);
    sw_context *ctx = make_ctx();
    sw_err err;
    json_t *shown = (json_t *)0x1;
    void *c = sw_params_bind(params, sizeof(test_cfg), doc->root, "/d", ctx, &shown, &err);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err.msg, bind_errors[_i].msg), "got '%s'", err.msg);
    ck_assert_ptr_eq(shown, (json_t *)0x1); /* untouched on failure */
    sw_context_free(ctx);
    sw_ydoc_free(doc);
}
END_TEST

START_TEST(test_bind_bad_offset)
{
    static const sw_param bad[] = {
        {"s", SW_TYPE_STRING, 0, "x", 0, NULL},
        {"i", SW_TYPE_INT, 0, "1", 12, NULL},
        {NULL, 0, 0, NULL, 0, NULL},
    };
    sw_err err;
    ck_assert_ptr_null(sw_params_bind(bad, 16, NULL, "/", NULL, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "parameter 'i': its field (offset 12) does not fit"));
}
END_TEST

static Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_check_valid);
    tcase_add_test(tc, test_check_unknown_and_missing);
    tcase_add_loop_test(tc, test_check_types, 0, (int)(sizeof type_cases / sizeof type_cases[0]));
    tcase_add_test(tc, test_default_valid);
    tcase_add_test(tc, test_bind_values);
    tcase_add_test(tc, test_bind_defaults_and_literals);
    tcase_add_loop_test(tc, test_bind_errors, 0, (int)(sizeof bind_errors / sizeof bind_errors[0]));
    tcase_add_test(tc, test_bind_bad_offset);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(params_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
