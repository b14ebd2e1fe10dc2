/* check_pipeline.c - the pipeline model: structure, every error in one pass, --set, durations. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/pipeline.h"

#include "diag_check.h"

#ifndef SW_TEST_SOURCE_DIR
#define SW_TEST_SOURCE_DIR "tests"
#endif
#define FIXTURE(name) SW_TEST_SOURCE_DIR "/fixtures/model/" name

static sw_pipeline *parse(const char *text, sw_diags *d)
{
    return sw_pipeline_parse_string(text, strlen(text), "p.yaml", "/srv/pipes", d);
}

#define HEAD "version: 1\nname: t\n"

static void expect_error(const char *text, const char *msg, int line, int col)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(text, d);
    if (p || !has_diag(d, msg, line, col))
        dump(d);
    ck_assert_ptr_null(p);
    ck_assert_msg(has_diag(d, msg, line, col), "want '%s' at %d:%d", msg, line, col);
    sw_diags_free(d);
}

static const sw_var *find_var(const sw_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_vars; i++)
        if (strcmp(p->vars[i].name, name) == 0)
            return &p->vars[i];
    return NULL;
}

START_TEST(test_valid_fixture)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = sw_pipeline_parse(FIXTURE("valid.yaml"), d);
    if (!p)
        dump(d);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(sw_diags_count(d), 0);

    char *real = realpath(FIXTURE("valid.yaml"), NULL);
    char *realdir = realpath(SW_TEST_SOURCE_DIR "/fixtures/model", NULL);
    ck_assert_str_eq(p->path, real);
    ck_assert_str_eq(p->dir, realdir);
    ck_assert_str_eq(p->doc->file, FIXTURE("valid.yaml"));
    ck_assert_int_eq(p->version, 1);
    ck_assert_str_eq(p->name, "support-agent");
    ck_assert_ptr_null(p->engine);

    ck_assert_uint_eq(p->n_vars, 8);
    ck_assert_str_eq(find_var(p, "router")->value.as.s, "http://127.0.0.1:8700");
    ck_assert_int_eq(find_var(p, "router")->pos.line, 5);
    ck_assert_int_eq(find_var(p, "threshold")->value.type, SW_TYPE_DOUBLE);
    ck_assert_int_eq(find_var(p, "retries")->value.type, SW_TYPE_INT);
    ck_assert_int_eq(find_var(p, "retries")->value.as.i, 3);
    ck_assert_int_eq(find_var(p, "strict")->value.type, SW_TYPE_BOOL);
    ck_assert_int_eq(find_var(p, "nothing")->value.type, SW_TYPE_NULL);
    ck_assert_int_eq(find_var(p, "quoted")->value.type, SW_TYPE_STRING);
    ck_assert_str_eq(find_var(p, "quoted")->value.as.s, "42");
    ck_assert_int_eq(find_var(p, "steps")->value.type, SW_TYPE_JSON);
    ck_assert_str_eq(find_var(p, "steps")->value.as.s, "[5,25,50,100]");
    ck_assert_int_eq(find_var(p, "limits")->value.type, SW_TYPE_JSON);

    ck_assert_uint_eq(p->n_plugin_paths, 2);
    char *plugdir = sw_xasprintf("%s/plugins", realdir);
    ck_assert_str_eq(p->plugin_paths[0], plugdir);
    ck_assert_str_eq(p->plugin_paths[1], "/opt/slipway/plugins");

    ck_assert_uint_eq(p->n_stages, 4);
    const sw_stage_spec *golden = &p->stages[1];
    ck_assert_str_eq(golden->id, "golden");
    ck_assert_str_eq(golden->uses, "eval");
    ck_assert_uint_eq(golden->index, 1);
    ck_assert_int_eq(golden->on_failure, 0);
    ck_assert_ptr_nonnull(golden->with);
    ck_assert_str_eq(sw_ynode_get(golden->with, "release")->text, "${release.manifest}");
    ck_assert_str_eq(golden->gate, "golden.pass_rate >= 0.95 and golden.latency_p95_ms < 1500");
    ck_assert_int_eq(golden->gate_origin.line, 25);
    ck_assert_int_eq(golden->gate_origin.col, 11);
    ck_assert_int_eq(golden->gate_origin.literal, 0);
    ck_assert_int_eq(golden->gate_pos.line, 25);
    ck_assert_int_eq(golden->gate_pos.col, 11);
    ck_assert_int_eq(golden->timeout_ms, 5 * 60 * 1000);
    ck_assert_int_eq(golden->background, 0);
    ck_assert_int_eq(p->stages[2].background, 1);
    ck_assert_ptr_null(p->stages[0].gate);
    ck_assert_int_eq(p->stages[0].timeout_ms, 0);

    const sw_stage_spec *canary = sw_pipeline_find_stage(p, "canary");
    ck_assert_ptr_eq(canary, &p->stages[3]);
    ck_assert_int_eq(canary->timeout_ms, 90000);
    ck_assert_str_eq(canary->gate,
                     "-- the canary must not regress\nreturn canary.error_rate < 0.01\n");
    /* `gate: |` is on line 35; the Lua text starts on 36. */
    ck_assert_int_eq(canary->gate_pos.line, 35);
    ck_assert_int_eq(canary->gate_origin.line, 36);
    ck_assert_int_eq(canary->gate_origin.col, 7);
    ck_assert_int_eq(canary->gate_origin.literal, 1);
    ck_assert_str_eq(canary->gate_origin.file, canary->gate_pos.file);

    ck_assert_uint_eq(p->n_on_failure, 1);
    const sw_stage_spec *rb = sw_pipeline_find_stage(p, "rollback");
    ck_assert_ptr_eq(rb, &p->on_failure[0]);
    ck_assert_int_eq(rb->on_failure, 1);
    ck_assert_uint_eq(rb->index, 0);
    ck_assert_ptr_null(sw_pipeline_find_stage(p, "nope"));
    ck_assert_ptr_null(sw_pipeline_find_stage(p, NULL));

    free(plugdir);
    free(real);
    free(realdir);
    sw_pipeline_destroy(p);
    sw_diags_free(d);
}
END_TEST

/* Every error of the file in one pass, each at its node. */
START_TEST(test_errors_fixture)
{
    static const struct {
        const char *msg;
        int line, col;
    } want[] = {
        {"unsupported pipeline version 2 (this Slipway reads version 1)", 1, 10},
        {"unknown key 'nmae' (did you mean 'name'?)", 2, 1},
        {"missing required key 'name'", 1, 1},
        {"stage 'golden': unknown key 'gaet' (did you mean 'gate'?)", 6, 5},
        {"stage 'golden': 'timeout' must be positive, found '0s'", 7, 14},
        {"stage id 'Bad-Id' is not valid", 8, 9},
        {"duplicate stage id 'golden' (first at line 4)", 10, 9},
        {"stage 'golden': 'background' must be true or false, found 'yes'", 12, 17},
        {"stages[3]: missing required key 'id'", 13, 5},
        {"stage id 'vars' is reserved", 14, 9},
        {"stage 'vars': timeout: invalid duration 'soon'", 16, 14},
        {"stage 'vars': 'with' must be a mapping, found a sequence", 17, 11},
        {"stage 'rollback': a stage in on_failure cannot run in the background", 21, 17},
        {"duplicate stage id 'golden' (first at line 4)", 22, 9},
        {"stage 'golden': missing required key 'uses'", 22, 5},
    };
    const size_t n = sizeof want / sizeof want[0];
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_pipeline_parse(FIXTURE("errors.yaml"), d));
    for (size_t i = 0; i < n; i++) {
        if (!has_diag(d, want[i].msg, want[i].line, want[i].col))
            dump(d);
        ck_assert_msg(has_diag(d, want[i].msg, want[i].line, want[i].col), "missing '%s' at %d:%d",
                      want[i].msg, want[i].line, want[i].col);
    }
    if (sw_diags_errors(d) != n)
        dump(d);
    ck_assert_uint_eq(sw_diags_errors(d), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(sw_diags_at(d, i)->file, FIXTURE("errors.yaml"));
    sw_diags_free(d);
}
END_TEST

START_TEST(test_compiler_style_message)
{
    const char *text = HEAD "stages:\n"
                            "    - id: release\n"
                            "      uses: versioning\n"
                            "    - id: golden\n"
                            "      uses: eval\n"
                            "      gaet: true\n";
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_pipeline_parse_string(text, strlen(text), "pipelines/x.yaml", NULL, d));
    ck_assert_uint_eq(sw_diags_count(d), 1);
    char *s = sw_diags_format(d, 0);
    ck_assert_str_eq(s, "pipelines/x.yaml:8:7: error: stage 'golden': unknown key 'gaet' (did "
                        "you mean 'gate'?)");
    free(s);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_top_level_errors)
{
    expect_error("", "the pipeline file is empty", 1, 1);
    expect_error("- a\n- b\n", "a pipeline must be a mapping", 1, 1);
    expect_error("name: t\nstages: [{id: a, uses: b}]\n", "missing required key 'version'", 1, 1);
    expect_error("version: '1'\nname: t\nstages: [{id: a, uses: b}]\n",
                 "'version' must be an integer, found '1'", 1, 10);
    expect_error("version: [1]\nname: t\nstages: [{id: a, uses: b}]\n",
                 "'version' must be an integer, found a sequence", 1, 10);
    expect_error("version: 1\nname: {a: 1}\nstages: [{id: a, uses: b}]\n",
                 "'name' must be a string, found a mapping", 2, 7);
    expect_error("version: 1\nname:\nstages: [{id: a, uses: b}]\n",
                 "'name' must be a string, found null", 2, 6);
    expect_error(HEAD, "missing required key 'stages'", 1, 1);
    expect_error(HEAD "stages: []\n", "'stages' must list at least one stage", 3, 9);
    expect_error(HEAD "stages: {id: a}\n", "'stages' must be a sequence of stages, found a mapping",
                 3, 9);
    expect_error(HEAD "stages: [{id: a, uses: b}]\non_failure: 5\n",
                 "'on_failure' must be a sequence of stages, found a scalar", 4, 13);
    expect_error(HEAD "stages: [5]\n", "stages[0]: a stage must be a mapping, found a scalar", 3,
                 10);
    expect_error(HEAD "stages: [{id: a, uses: b}]\nzzzzzz: 1\n", "unknown key 'zzzzzz'", 4, 1);
    expect_error(HEAD "stags: []\n", "unknown key 'stags' (did you mean 'stages'?)", 3, 1);
    expect_error(HEAD "description: [x]\nstages: [{id: a, uses: b}]\n",
                 "'description' must be a string", 3, 14);
}
END_TEST

START_TEST(test_vars_and_plugins_errors)
{
    expect_error(HEAD "vars: [1]\nstages: [{id: a, uses: b}]\n", "'vars' must be a mapping", 3, 7);
    expect_error(HEAD "vars: {bad-name: 1}\nstages: [{id: a, uses: b}]\n",
                 "variable name 'bad-name' is not valid", 3, 8);
    expect_error(HEAD "vars:\n  big: 99999999999999999999\nstages: [{id: a, uses: b}]\n",
                 "vars.big: integer '99999999999999999999' is out of range", 4, 8);
    expect_error(HEAD "vars:\n  l: [1, .inf]\nstages: [{id: a, uses: b}]\n",
                 "vars.l: '.inf' at line 4 has no JSON form", 4, 6);
    expect_error(HEAD "plugins: {paht: x}\nstages: [{id: a, uses: b}]\n",
                 "plugins: unknown key 'paht' (did you mean 'path'?)", 3, 11);
    expect_error(HEAD "plugins: {path: [a, {b: c}]}\nstages: [{id: a, uses: b}]\n",
                 "plugins: 'path' must be a string, found a mapping", 3, 21);
    expect_error(HEAD "plugins: [a]\nstages: [{id: a, uses: b}]\n", "'plugins' must be a mapping",
                 3, 10);

    /* Empty optional sections are allowed; a single path is a string. */
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(HEAD "vars:\nplugins:\n  path: ../plugins\non_failure:\nstages:\n"
                                "  - {id: a, uses: b, with: }\n",
                           d);
    if (!p)
        dump(d);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->n_vars, 0);
    ck_assert_uint_eq(p->n_on_failure, 0);
    ck_assert_uint_eq(p->n_plugin_paths, 1);
    ck_assert_str_eq(p->plugin_paths[0], "/srv/pipes/../plugins");
    ck_assert_ptr_null(p->stages[0].with);
    ck_assert_str_eq(p->path, "p.yaml");
    ck_assert_str_eq(p->dir, "/srv/pipes");
    sw_pipeline_destroy(p);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_stage_errors)
{
    expect_error(HEAD "stages:\n  - {id: a}\n", "stage 'a': missing required key 'uses'", 4, 5);
    expect_error(HEAD "stages:\n  - {id: a, uses: [x]}\n",
                 "stage 'a': 'uses' must be a string, found a sequence", 4, 19);
    expect_error(HEAD "stages:\n  - {id: a, uses: b, gate: {x: 1}}\n",
                 "stage 'a': 'gate' must be a string, found a mapping", 4, 28);
    expect_error(HEAD "stages:\n  - {id: a, uses: b, background: 1}\n",
                 "stage 'a': 'background' must be true or false, found '1'", 4, 34);
    expect_error(HEAD "stages:\n  - {id: a, uses: b, timeout: -5s}\n",
                 "stage 'a': 'timeout' must be positive, found '-5s'", 4, 31);
    expect_error(HEAD "stages:\n  - {id: a, uses: b, timeout: [1]}\n",
                 "stage 'a': 'timeout' must be a duration (e.g. 30s), found a sequence", 4, 31);
    expect_error(HEAD "stages:\n  - {id: a, uses: b, timeout: true}\n",
                 "stage 'a': 'timeout' must be a duration (e.g. 30s), found 'true'", 4, 31);
    expect_error(HEAD "stages:\n  - {id: 7up, uses: b}\n", "stage id '7up' is not valid", 4, 10);
    expect_error(HEAD "stages:\n  - {id: end, uses: b}\n", "stage id 'end' is reserved", 4, 10);
    expect_error(HEAD "stages:\n  - {id: a, uses: b}\non_failure:\n  - {id: a, uses: c}\n",
                 "duplicate stage id 'a' (first at line 4)", 6, 10);
    /* A background stage elsewhere is fine; false in on_failure is fine too. */
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(HEAD "stages:\n  - {id: a, uses: b, background: true}\non_failure:\n"
                                "  - {id: c, uses: b, background: false, timeout: 1.5}\n",
                           d);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->stages[0].background, 1);
    ck_assert_int_eq(p->on_failure[0].timeout_ms, 1500);
    sw_pipeline_destroy(p);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_gate_lines)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(HEAD "stages:\n"
                                "  - id: a\n"
                                "    uses: b\n"
                                "    gate: >-\n"
                                "      a.x > 1\n"
                                "      and a.y\n"
                                "  - id: c\n"
                                "    uses: b\n"
                                "    gate: \"c.ok\n"
                                "      == true\"\n",
                           d);
    if (!p)
        dump(d);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->stages[0].gate, "a.x > 1 and a.y");
    /* Folded and quoted text: Lua's line breaks are not the file's. */
    ck_assert_int_eq(p->stages[0].gate_origin.line, 7);
    ck_assert_int_eq(p->stages[0].gate_origin.col, 7);
    ck_assert_int_eq(p->stages[0].gate_origin.literal, 0);
    ck_assert_str_eq(p->stages[1].gate, "c.ok == true");
    ck_assert_int_eq(p->stages[1].gate_origin.line, 11);
    ck_assert_int_eq(p->stages[1].gate_pos.col, 11);
    ck_assert_int_eq(p->stages[1].gate_origin.col, 12);
    ck_assert_int_eq(p->stages[1].gate_origin.literal, 0);
    sw_pipeline_destroy(p);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_parse_missing_file)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_pipeline_parse("/nonexistent/slipway/p.yaml", d));
    ck_assert(has_diag(d, "cannot open", 0, 0));
    ck_assert_str_eq(sw_diags_at(d, 0)->file, "/nonexistent/slipway/p.yaml");
    sw_diags_free(d);
    /* A YAML error surfaces through the pipeline parser; NULL diags are allowed. */
    ck_assert_ptr_null(sw_pipeline_parse(FIXTURE("dup_key.yaml"), NULL));
    ck_assert_ptr_null(parse(HEAD "stages: []\n", NULL));
}
END_TEST

/* ---- durations and ids ---- */

static const struct {
    const char *text;
    int ok;
    int64_t ms;
} duration_cases[] = {
    {"250ms", 1, 250},
    {"30s", 1, 30000},
    {"5m", 1, 300000},
    {"1h", 1, 3600000},
    {"1h30m", 1, 5400000},
    {"2m15s", 1, 135000},
    {"90", 1, 90000},
    {"1.5", 1, 1500},
    {"0.5s", 1, 500},
    {"0", 1, 0},
    {"-5s", 1, -5000},
    {"+2s", 1, 2000},
    {"", 0, 0},
    {"s", 0, 0},
    {"5x", 0, 0},
    {"5 s", 0, 0},
    {"1h30", 0, 0},
    {"ms", 0, 0},
    {"-", 0, 0},
    {".s", 0, 0},
    {"1e3s", 0, 0},
    {"9999999999999h", 0, 0},
};

START_TEST(test_durations)
{
    int64_t ms = -1;
    sw_err err;
    int rc = sw_parse_duration(duration_cases[_i].text, &ms, &err);
    if (duration_cases[_i].ok) {
        ck_assert_msg(rc == 0, "'%s': %s", duration_cases[_i].text, err.msg);
        ck_assert_msg(ms == duration_cases[_i].ms, "'%s': %lld", duration_cases[_i].text,
                      (long long)ms);
    } else {
        ck_assert_msg(rc == -1, "'%s' accepted", duration_cases[_i].text);
        ck_assert(strstr(err.msg, "duration") != NULL);
    }
}
END_TEST

START_TEST(test_stage_ids)
{
    static const char *const good[] = {"release", "_x", "a1_b", "golden_2", "a"};
    static const struct {
        const char *id, *msg;
    } bad[] = {
        {"", "empty"},        {"1a", "not valid"},      {"A", "not valid"},
        {"a-b", "not valid"}, {"a.b", "not valid"},     {"vars", "reserved"},
        {"env", "reserved"},  {"failure", "reserved"},  {"slipway", "reserved"},
        {"run", "reserved"},  {"function", "reserved"}, {"nil", "reserved"},
        {"and", "reserved"},
    };
    sw_err err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(sw_stage_id_valid(good[i], &err) == 0, "%s: %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(sw_stage_id_valid(bad[i].id, &err) == -1, "'%s' accepted", bad[i].id);
        ck_assert_msg(strstr(err.msg, bad[i].msg), "'%s': %s", bad[i].id, err.msg);
    }
    char longid[70];
    memset(longid, 'a', 65);
    longid[65] = '\0';
    ck_assert_int_eq(sw_stage_id_valid(longid, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 64"));
    longid[64] = '\0';
    ck_assert_int_eq(sw_stage_id_valid(longid, &err), 0);
}
END_TEST

/* ---- --set ---- */

START_TEST(test_apply_set)
{
    sw_diags *d = sw_diags_new();
    sw_pipeline *p = parse(HEAD "vars: {retries: 3, router: x}\nstages: [{id: a, uses: b}]\n", d);
    ck_assert_ptr_nonnull(p);
    sw_err err;
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.retries=5", &err), 0);
    ck_assert_int_eq(find_var(p, "retries")->value.type, SW_TYPE_INT);
    ck_assert_int_eq(find_var(p, "retries")->value.as.i, 5);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.router=http://h:1/x=y", &err), 0);
    ck_assert_str_eq(find_var(p, "router")->value.as.s, "http://h:1/x=y");
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.New_1=0.5", &err), 0);
    ck_assert_int_eq(find_var(p, "New_1")->value.type, SW_TYPE_DOUBLE);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.empty=", &err), 0);
    ck_assert_int_eq(find_var(p, "empty")->value.type, SW_TYPE_NULL);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.flag=true", &err), 0);
    ck_assert_int_eq(find_var(p, "flag")->value.type, SW_TYPE_BOOL);
    ck_assert_uint_eq(p->n_vars, 5);

    ck_assert_int_eq(sw_pipeline_apply_set(p, "foo=1", &err), -1);
    ck_assert_str_eq(err.msg, "--set 'foo=1': expected vars.NAME=VALUE");
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.x", &err), -1);
    ck_assert_str_eq(err.msg, "--set 'vars.x': expected vars.NAME=VALUE");
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.1x=2", &err), -1);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.=2", &err), -1);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.a.b=2", &err), -1);
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.big=99999999999999999999", &err), -1);
    ck_assert_str_eq(err.msg, "--set 'vars.big=99999999999999999999': integer "
                              "'99999999999999999999' is out of range (64-bit)");

    /* Flow collections as in the file's vars: JSON values, not strings. */
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.steps=[5, 25, {weight: 100}]", &err), 0);
    ck_assert_int_eq(find_var(p, "steps")->value.type, SW_TYPE_JSON);
    ck_assert_str_eq(find_var(p, "steps")->value.as.s, "[5,25,{\"weight\":100}]");
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.m= {a: x}", &err), 0);
    ck_assert_str_eq(find_var(p, "m")->value.as.s, "{\"a\":\"x\"}");
    ck_assert_int_eq(sw_pipeline_apply_set(p, "vars.broken=[1, 2", &err), -1);
    ck_assert_msg(strncmp(err.msg, "--set 'vars.broken=[1, 2': value:", 32) == 0, "%s", err.msg);

    ck_assert_uint_eq(p->n_sets, 7);
    ck_assert_str_eq(p->sets[0], "vars.retries=5");
    ck_assert_str_eq(p->sets[4], "vars.flag=true");
    sw_pipeline_destroy(p);
    sw_diags_free(d);
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_valid_fixture);
    tcase_add_test(tc, test_errors_fixture);
    tcase_add_test(tc, test_compiler_style_message);
    tcase_add_test(tc, test_top_level_errors);
    tcase_add_test(tc, test_vars_and_plugins_errors);
    tcase_add_test(tc, test_stage_errors);
    tcase_add_test(tc, test_gate_lines);
    tcase_add_test(tc, test_parse_missing_file);
    tcase_add_loop_test(tc, test_durations, 0,
                        (int)(sizeof duration_cases / sizeof duration_cases[0]));
    tcase_add_test(tc, test_stage_ids);
    tcase_add_test(tc, test_apply_set);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pipeline_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
