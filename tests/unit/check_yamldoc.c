/* check_yamldoc.c - the YAML document model: positions, aliases, errors, scalar typing. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/yamldoc.h"

#include "diag_check.h"

#ifndef SW_TEST_SOURCE_DIR
#define SW_TEST_SOURCE_DIR "tests"
#endif
#define FIXTURE(name) SW_TEST_SOURCE_DIR "/fixtures/model/" name

static sw_ydoc *parse(const char *text, sw_diags *d)
{
    return sw_yaml_parse_string(text, strlen(text), "t.yaml", d);
}

/* Expect text to fail with a diagnostic containing msg at line:col. */
static void expect_error(const char *text, const char *msg, int line, int col)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = parse(text, d);
    if (doc || !has_diag(d, msg, line, col))
        dump(d);
    ck_assert_ptr_null(doc);
    ck_assert_msg(has_diag(d, msg, line, col), "want '%s' at %d:%d", msg, line, col);
    const sw_diagnostic *g = sw_diags_at(d, 0);
    ck_assert_str_eq(g->file, "t.yaml");
    sw_diags_free(d);
}

START_TEST(test_positions)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = parse("a: 1\nb:\n  c: [x, 'y']\n  d: |\n    text\n", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(sw_diags_count(d), 0);
    const sw_ynode *root = doc->root;
    ck_assert_int_eq(root->kind, SW_YAML_MAP);
    ck_assert_uint_eq(root->n, 2);
    const sw_ynode *a = sw_ynode_get(root, "a");
    ck_assert_int_eq(a->line, 1);
    ck_assert_int_eq(a->col, 4);
    const sw_ynode *bkey = sw_ynode_key(root, "b");
    ck_assert_int_eq(bkey->line, 2);
    ck_assert_int_eq(bkey->col, 1);
    const sw_ynode *c = sw_ynode_get(sw_ynode_get(root, "b"), "c");
    ck_assert_int_eq(c->kind, SW_YAML_SEQ);
    ck_assert_int_eq(c->line, 3);
    ck_assert_int_eq(c->col, 6);
    ck_assert_uint_eq(c->n, 2);
    ck_assert_str_eq(c->items[0]->text, "x");
    ck_assert_int_eq(c->items[0]->quoted, 0);
    ck_assert_int_eq(c->items[1]->quoted, 1);
    ck_assert_int_eq(c->items[1]->col, 10);
    const sw_ynode *blk = sw_ynode_get(sw_ynode_get(root, "b"), "d");
    ck_assert_int_eq(blk->block, 1);
    ck_assert_int_eq(blk->quoted, 1);
    ck_assert_int_eq(blk->line, 4);
    ck_assert_str_eq(blk->text, "text\n");
    ck_assert_ptr_null(sw_ynode_get(root, "zz"));
    ck_assert_ptr_null(sw_ynode_get(a, "x"));
    sw_pos pos = sw_ynode_pos(doc, c);
    ck_assert_str_eq(pos.file, "t.yaml");
    ck_assert_int_eq(pos.line, 3);
    ck_assert_str_eq(sw_ynode_kind_name(SW_YAML_MAP), "mapping");
    ck_assert_str_eq(sw_ynode_kind_name(SW_YAML_SEQ), "sequence");
    ck_assert_str_eq(sw_ynode_kind_name(SW_YAML_SCALAR), "scalar");
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_empty_document)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = parse("# only a comment\n", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(doc->root);
    sw_ydoc_free(doc);
    doc = sw_yaml_parse_string("", 0, "t.yaml", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(doc->root);
    sw_ydoc_free(doc);
    ck_assert_uint_eq(sw_diags_errors(d), 0);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_aliases_share_nodes)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = sw_yaml_parse_file(FIXTURE("anchors.yaml"), 0, d);
    if (!doc)
        dump(d);
    ck_assert_ptr_nonnull(doc);
    const sw_ynode *def = sw_ynode_get(doc->root, "defaults");
    ck_assert_ptr_eq(sw_ynode_get(doc->root, "first"), def);
    ck_assert_ptr_eq(sw_ynode_get(doc->root, "second"), def);
    ck_assert_ptr_eq(sw_ynode_get(doc->root, "again"), sw_ynode_get(doc->root, "name"));
    ck_assert_str_eq(sw_ynode_get(doc->root, "again")->text, "agent");
    sw_err err;
    json_t *j = sw_yaml_to_json(doc->root, &err);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "second"), "retries")),
                     3);
    json_decref(j);
    sw_ydoc_free(doc); /* valgrind: shared nodes freed exactly once */
    sw_diags_free(d);
}
END_TEST

START_TEST(test_alias_errors)
{
    expect_error("a: *nowhere\n", "unknown alias '*nowhere'", 1, 4);
    /* An alias to an enclosing node would make a cycle. */
    expect_error("a: &x [1, *x]\n", "unknown alias '*x'", 1, 11);
    /* A billion laughs, scaled down: 10 levels of 10 aliases each. */
    sw_buf b = {0};
    sw_buf_puts(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i <= 9; i++) {
        sw_buf_printf(&b, "l%d: &l%d [", i, i);
        for (int k = 0; k < 10; k++)
            sw_buf_printf(&b, "%s*l%d", k ? ", " : "", i - 1);
        sw_buf_puts(&b, "]\n");
    }
    expect_error(b.data, "expands to more than", 0, 0);
    sw_buf_free(&b);
}
END_TEST

START_TEST(test_duplicate_key)
{
    expect_error("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at line 1)", 3, 1);
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_yaml_parse_file(FIXTURE("dup_key.yaml"), 0, d));
    ck_assert_msg(has_diag(d, "duplicate key 'stages' (first at line 3)", 6, 1), "dup");
    ck_assert_str_eq(sw_diags_at(d, 0)->file, FIXTURE("dup_key.yaml"));
    sw_diags_free(d);
    /* Every duplicate is reported, not only the first. */
    d = sw_diags_new();
    ck_assert_ptr_null(parse("a: 1\na: 2\nb: {x: 1, x: 2}\n", d));
    ck_assert_uint_eq(sw_diags_errors(d), 2);
    ck_assert(has_diag(d, "duplicate key 'x' (first at line 3)", 3, 11));
    sw_diags_free(d);
}
END_TEST

START_TEST(test_structure_errors)
{
    expect_error("? [a, b]\n: 1\n", "a mapping key must be a scalar, found a sequence", 1, 3);
    expect_error("a: 1\n---\nb: 2\n", "more than one document", 2, 1);
    expect_error("a: [1, 2\n", "did not find expected ',' or ']'", 2, 1);
    expect_error("a: b: c\n", "mapping values are not allowed", 1, 5);
    expect_error("a: \"\\0\"\n", "NUL character", 1, 4);
    sw_buf b = {0};
    for (int i = 0; i < 300; i++)
        sw_buf_puts(&b, "[");
    expect_error(b.data, "nesting is deeper than", 1, 257);
    sw_buf_free(&b);
}
END_TEST

START_TEST(test_syntax_error_fixture)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_yaml_parse_file(FIXTURE("syntax.yaml"), 0, d));
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    const sw_diagnostic *g = sw_diags_at(d, 0);
    ck_assert_int_eq(g->line, 3);
    ck_assert_ptr_nonnull(strstr(g->message, "while parsing a flow sequence (started at line 2)"));
    sw_diags_free(d);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    expect_error("a: ok\nb: \"x\xc3\x28\"\n", "invalid UTF-8 (byte 0xc3", 2, 6);
    expect_error("a: \xed\xa0\x80\n", "invalid UTF-8", 1, 4);            /* a surrogate */
    expect_error("a: \xc0\xaf\n", "invalid UTF-8", 1, 4);                /* overlong */
    expect_error("\xc3\xa9: \xf4\x90\x80\x80\n", "invalid UTF-8", 1, 4); /* past U+10FFFF */
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_yaml_parse_file(FIXTURE("bad_utf8.yaml"), 0, d));
    ck_assert(has_diag(d, "invalid UTF-8", 3, 7));
    sw_diags_free(d);
    /* Valid multi-byte text passes and columns count characters. */
    d = sw_diags_new();
    sw_ydoc *doc = parse("\xc3\xa9t\xc3\xa9: \xe2\x82\xac\n", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(doc->root->items[0]->col, 6);
    ck_assert_str_eq(doc->root->items[0]->text, "\xe2\x82\xac");
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_file_errors)
{
    char dir[] = "/tmp/check_yamldoc.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *missing = sw_xasprintf("%s/missing.yaml", dir);
    char *big = sw_xasprintf("%s/big.yaml", dir);
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_yaml_parse_file(missing, 0, d));
    ck_assert(has_diag(d, "cannot open: No such file", 0, 0));
    ck_assert_str_eq(sw_diags_at(d, 0)->file, missing);

    FILE *fp = fopen(big, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("key: a value longer than the cap\n", fp);
    fclose(fp);
    ck_assert_ptr_null(sw_yaml_parse_file(big, 10, d));
    ck_assert(has_diag(d, "file is larger than 10 bytes", 0, 0));
    sw_ydoc *doc = sw_yaml_parse_file(big, 0, d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(doc->file, big);
    ck_assert_str_eq(sw_ynode_get(doc->root, "key")->text, "a value longer than the cap");
    sw_ydoc_free(doc);
    /* A folder cannot be read as a file. */
    ck_assert_ptr_null(sw_yaml_parse_file(dir, 0, d));
    ck_assert_uint_eq(sw_diags_errors(d), 3);

    unlink(big);
    rmdir(dir);
    free(missing);
    free(big);
    sw_diags_free(d);
}
END_TEST

/* ---- scalar typing ---- */

typedef struct typing_case {
    const char *text;
    sw_type type;
    int64_t i;
    double d;
} typing_case;

static const typing_case typing_cases[] = {
    {"", SW_TYPE_NULL, 0, 0},
    {"~", SW_TYPE_NULL, 0, 0},
    {"null", SW_TYPE_NULL, 0, 0},
    {"Null", SW_TYPE_NULL, 0, 0},
    {"NULL", SW_TYPE_NULL, 0, 0},
    {"nULL", SW_TYPE_STRING, 0, 0},
    {"true", SW_TYPE_BOOL, 1, 0},
    {"True", SW_TYPE_BOOL, 1, 0},
    {"TRUE", SW_TYPE_BOOL, 1, 0},
    {"false", SW_TYPE_BOOL, 0, 0},
    {"False", SW_TYPE_BOOL, 0, 0},
    {"FALSE", SW_TYPE_BOOL, 0, 0},
    {"yes", SW_TYPE_STRING, 0, 0}, /* YAML 1.1 booleans are strings in 1.2 */
    {"on", SW_TYPE_STRING, 0, 0},
    {"0", SW_TYPE_INT, 0, 0},
    {"42", SW_TYPE_INT, 42, 0},
    {"-17", SW_TYPE_INT, -17, 0},
    {"+8", SW_TYPE_INT, 8, 0},
    {"007", SW_TYPE_INT, 7, 0},
    {"0x1F", SW_TYPE_INT, 31, 0},
    {"0xff", SW_TYPE_INT, 255, 0},
    {"0o17", SW_TYPE_INT, 15, 0},
    {"0o8", SW_TYPE_STRING, 0, 0},
    {"0x", SW_TYPE_STRING, 0, 0},
    {"-0x10", SW_TYPE_STRING, 0, 0},
    {"9223372036854775807", SW_TYPE_INT, INT64_MAX, 0},
    {"-9223372036854775808", SW_TYPE_INT, INT64_MIN, 0},
    {"1_000", SW_TYPE_STRING, 0, 0},
    {"1.5", SW_TYPE_DOUBLE, 0, 1.5},
    {"-0.25", SW_TYPE_DOUBLE, 0, -0.25},
    {".5", SW_TYPE_DOUBLE, 0, 0.5},
    {"1.", SW_TYPE_DOUBLE, 0, 1.0},
    {"1e3", SW_TYPE_DOUBLE, 0, 1000.0},
    {"2.5E-1", SW_TYPE_DOUBLE, 0, 0.25},
    {"+1e+2", SW_TYPE_DOUBLE, 0, 100.0},
    {"1e", SW_TYPE_STRING, 0, 0},
    {".", SW_TYPE_STRING, 0, 0},
    {".inf", SW_TYPE_DOUBLE, 0, INFINITY},
    {".Inf", SW_TYPE_DOUBLE, 0, INFINITY},
    {"+.INF", SW_TYPE_DOUBLE, 0, INFINITY},
    {"-.inf", SW_TYPE_DOUBLE, 0, -INFINITY},
    {".nan", SW_TYPE_DOUBLE, 0, NAN},
    {".NaN", SW_TYPE_DOUBLE, 0, NAN},
    {".NAN", SW_TYPE_DOUBLE, 0, NAN},
    {"-.nan", SW_TYPE_STRING, 0, 0},
    {"inf", SW_TYPE_STRING, 0, 0},
    {"1.2.3", SW_TYPE_STRING, 0, 0},
    {"v1", SW_TYPE_STRING, 0, 0},
    {"http://x:80", SW_TYPE_STRING, 0, 0},
    {"-", SW_TYPE_STRING, 0, 0},
};

START_TEST(test_scalar_typing_table)
{
    const typing_case *c = &typing_cases[_i];
    sw_value v;
    sw_err err;
    ck_assert_msg(sw_yaml_text_value(c->text, &v, &err) == 0, "'%s': %s", c->text, err.msg);
    ck_assert_msg(v.type == c->type, "'%s': type %s, want %s", c->text, sw_type_name(v.type),
                  sw_type_name(c->type));
    if (c->type == SW_TYPE_BOOL)
        ck_assert_int_eq(v.as.b, (int)c->i);
    if (c->type == SW_TYPE_INT)
        ck_assert_msg(v.as.i == c->i, "'%s'", c->text);
    if (c->type == SW_TYPE_DOUBLE) {
        if (isnan(c->d))
            ck_assert(isnan(v.as.d));
        else
            ck_assert_msg(v.as.d == c->d, "'%s': %g", c->text, v.as.d);
    }
    if (c->type == SW_TYPE_STRING)
        ck_assert_str_eq(v.as.s, c->text);
    sw_value_free(&v);
}
END_TEST

START_TEST(test_scalar_overflow)
{
    sw_value v;
    sw_err err;
    ck_assert_int_eq(sw_yaml_text_value("9223372036854775808", &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "integer '9223372036854775808' is out of range"));
    ck_assert_int_eq(sw_yaml_text_value("-9223372036854775809", &v, &err), -1);
    ck_assert_int_eq(sw_yaml_text_value("0x10000000000000000", &v, &err), -1);
    ck_assert_int_eq(sw_yaml_text_value("1e999", &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
}
END_TEST

START_TEST(test_scalar_node_typing)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = parse("a: 5\nb: '5'\nc: \"true\"\nd: |\n  5\ne: !!str 5\nf: ~\ng:\n", d);
    ck_assert_ptr_nonnull(doc);
    static const struct {
        const char *key;
        sw_type type;
    } want[] = {{"a", SW_TYPE_INT},    {"b", SW_TYPE_STRING}, {"c", SW_TYPE_STRING},
                {"d", SW_TYPE_STRING}, {"e", SW_TYPE_STRING}, {"f", SW_TYPE_NULL},
                {"g", SW_TYPE_NULL}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        sw_value v;
        sw_err err;
        ck_assert_int_eq(sw_yaml_scalar_value(sw_ynode_get(doc->root, want[i].key), &v, &err), 0);
        ck_assert_msg(v.type == want[i].type, "%s: %s", want[i].key, sw_type_name(v.type));
        sw_value_free(&v);
    }
    sw_value v;
    sw_err err;
    ck_assert_int_eq(sw_yaml_scalar_value(doc->root, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "expected a scalar, found a mapping"));
    sw_ydoc_free(doc);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_to_json)
{
    sw_diags *d = sw_diags_new();
    sw_ydoc *doc = parse("n: ~\nb: true\ni: 7\nf: 0.5\ns: text\nq: '7'\nl: [1, [2], {k: v}]\n"
                         "m: {1: one}\n",
                         d);
    ck_assert_ptr_nonnull(doc);
    sw_err err;
    json_t *j = sw_yaml_to_json(doc->root, &err);
    ck_assert_ptr_nonnull(j);
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(text, "{\"n\":null,\"b\":true,\"i\":7,\"f\":0.5,\"s\":\"text\",\"q\":\"7\","
                           "\"l\":[1,[2],{\"k\":\"v\"}],\"m\":{\"1\":\"one\"}}");
    free(text);
    json_decref(j);
    sw_ydoc_free(doc);

    doc = parse("x: [1, .nan]\n", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(sw_yaml_to_json(doc->root, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "'.nan' at line 1 has no JSON form"));
    sw_ydoc_free(doc);
    doc = parse("x: [99999999999999999999]\n", d);
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(sw_yaml_to_json(doc->root, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "out of range"));
    sw_ydoc_free(doc);
    json_t *null = sw_yaml_to_json(NULL, &err);
    ck_assert(json_is_null(null));
    json_decref(null);
    sw_diags_free(d);
}
END_TEST

static Suite *yamldoc_suite(void)
{
    Suite *s = suite_create("yamldoc");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_empty_document);
    tcase_add_test(tc, test_aliases_share_nodes);
    tcase_add_test(tc, test_alias_errors);
    tcase_add_test(tc, test_duplicate_key);
    tcase_add_test(tc, test_structure_errors);
    tcase_add_test(tc, test_syntax_error_fixture);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_file_errors);
    tcase_add_loop_test(tc, test_scalar_typing_table, 0,
                        (int)(sizeof typing_cases / sizeof typing_cases[0]));
    tcase_add_test(tc, test_scalar_overflow);
    tcase_add_test(tc, test_scalar_node_typing);
    tcase_add_test(tc, test_to_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(yamldoc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
