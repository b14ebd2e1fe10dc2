/* check_lua_stage.c - the `lua` stage's descriptor and its declared outputs.
   Running the stage needs a run and a host; integration tests do that. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lua/lua_stage.h"

/* Parse a pipeline fragment whose root holds `with:`, then read its outputs. */
static int outputs_of(const char *yaml, sw_port **ports, size_t *n, sw_diags *d, sw_ydoc **doc)
{
    *doc = sw_yaml_parse_string(yaml, strlen(yaml), "pipelines/x.yaml", d);
    ck_assert_msg(*doc != NULL, "fixture does not parse");
    const sw_ynode *with = sw_ynode_get((*doc)->root, "with");
    return sw_lua_stage_outputs(*doc, with, ports, n, d);
}

START_TEST(test_outputs_declared)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc;
    sw_port *ports;
    size_t n;
    ck_assert_int_eq(outputs_of("with:\n"
                                "  code: 'function run() return {} end'\n"
                                "  outputs: {score: double, ok: bool, n: int, s: string, j: json,"
                                " f: float, b: boolean, i: integer}\n",
                                &ports, &n, d, &doc),
                     0);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    ck_assert_uint_eq(n, 8);
    static const struct {
        const char *name;
        sw_type type;
    } want[] = {{"score", SW_TYPE_DOUBLE}, {"ok", SW_TYPE_BOOL}, {"n", SW_TYPE_INT},
                {"s", SW_TYPE_STRING},     {"j", SW_TYPE_JSON},  {"f", SW_TYPE_DOUBLE},
                {"b", SW_TYPE_BOOL},       {"i", SW_TYPE_INT}};
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(ports[i].name, want[i].name);
        ck_assert_int_eq(ports[i].type, want[i].type);
    }
    ck_assert_ptr_null(ports[n].name);
    sw_lua_stage_outputs_free(ports, n);
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_no_outputs)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc;
    sw_port *ports = (sw_port *)1;
    size_t n = 9;
    ck_assert_int_eq(outputs_of("with:\n  code: x\n", &ports, &n, d, &doc), 0);
    ck_assert_ptr_null(ports);
    ck_assert_uint_eq(n, 0);
    sw_ydoc_free(doc);
    ck_assert_int_eq(sw_lua_stage_outputs(NULL, NULL, &ports, &n, d), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    sw_diags_free(d);
}
END_TEST

static void expect_error(const char *yaml, const char *formatted)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc;
    sw_port *ports;
    size_t n;
    ck_assert_int_eq(outputs_of(yaml, &ports, &n, d, &doc), -1);
    ck_assert_ptr_null(ports);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_ge(sw_diags_errors(d), 1);
    char *text = sw_diags_format(d, 0);
    ck_assert_str_eq(text, formatted);
    free(text);
    sw_ydoc_free(doc);
    sw_diags_free(d);
}

START_TEST(test_outputs_errors)
{
    expect_error("with:\n"
                 "  outputs:\n"
                 "    ok: bool\n"
                 "    score: flaot\n",
                 "pipelines/x.yaml:4:12: error: stage outputs: unknown type 'flaot' for 'score' "
                 "(did you mean 'float'?)");
    expect_error("with:\n  outputs: {n: innt}\n",
                 "pipelines/x.yaml:2:16: error: stage outputs: unknown type 'innt' for 'n' (did "
                 "you mean 'int'?)");
    expect_error("with:\n  outputs: {n: quaternion}\n",
                 "pipelines/x.yaml:2:16: error: stage outputs: unknown type 'quaternion' for 'n' "
                 "(bool, int, double, string or json)");
    expect_error("with:\n  outputs: {n: any}\n",
                 "pipelines/x.yaml:2:16: error: stage outputs: unknown type 'any' for 'n' (bool, "
                 "int, double, string or json)");
    expect_error("with:\n  outputs: [score, ok]\n",
                 "pipelines/x.yaml:2:12: error: stage outputs: expected a mapping of output "
                 "names to types, got a sequence");
    expect_error("with:\n  outputs: {score: [double]}\n",
                 "pipelines/x.yaml:2:20: error: stage outputs: the type of 'score' must be a type "
                 "name, got a sequence");
    expect_error("with:\n  outputs: {'a.b': int}\n",
                 "pipelines/x.yaml:2:13: error: stage outputs: output name 'a.b' must be a Lua "
                 "identifier (letters, digits, _)");
}
END_TEST

START_TEST(test_all_errors_reported)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc;
    sw_port *ports;
    size_t n;
    ck_assert_int_eq(
        outputs_of("with:\n  outputs: {a: flaot, b: int, c: strin}\n", &ports, &n, d, &doc), -1);
    ck_assert_uint_eq(sw_diags_errors(d), 2);
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

static const sw_param *param(const sw_stage_desc *desc, const char *name)
{
    for (const sw_param *p = desc->params; p->name; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

START_TEST(test_descriptor)
{
    const sw_stage_desc *desc = sw_lua_stage_desc();
    ck_assert_ptr_nonnull(desc);
    ck_assert_int_eq(desc->abi_major, SW_ABI_MAJOR);
    ck_assert_int_eq(desc->struct_size, sizeof(sw_stage_desc));
    ck_assert_str_eq(desc->name, "lua");
    ck_assert_str_eq(desc->summary, "A stage written in Lua, run in the sandbox");
    ck_assert(desc->version && *desc->version);
    ck_assert_ptr_nonnull(desc->init);
    ck_assert_ptr_nonnull(desc->run);
    ck_assert_ptr_null(desc->outputs[0].name);
    ck_assert_ptr_null(desc->inputs[0].name);

    const sw_param *p = param(desc, "script");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->type, SW_TYPE_STRING);
    ck_assert(p->flags & SW_PARAM_PATH);
    ck_assert(!(p->flags & SW_PARAM_REQUIRED));
    p = param(desc, "code");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->type, SW_TYPE_STRING);
    p = param(desc, "outputs");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->type, SW_TYPE_JSON);
    p = param(desc, "timeout");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->type, SW_TYPE_INT);
    ck_assert(p->flags & SW_PARAM_DURATION);
    ck_assert_str_eq(p->default_value, "10s");
    p = param(desc, "memory_mb");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->type, SW_TYPE_INT);
    ck_assert_str_eq(p->default_value, "64");

    /* Every parameter lies inside the config struct, without overlap. */
    for (const sw_param *a = desc->params; a->name; a++) {
        size_t size = a->type == SW_TYPE_INT ? sizeof(int64_t) : sizeof(const char *);
        ck_assert_uint_le(a->offset + size, desc->config_size);
        for (const sw_param *b = desc->params; b->name; b++)
            ck_assert(a == b || a->offset != b->offset);
        ck_assert(a->description && *a->description);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lua_stage");
    TCase *tc = tcase_create("lua_stage");
    tcase_add_test(tc, test_outputs_declared);
    tcase_add_test(tc, test_no_outputs);
    tcase_add_test(tc, test_outputs_errors);
    tcase_add_test(tc, test_all_errors_reported);
    tcase_add_test(tc, test_descriptor);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
