/*
 * check_eval_dataset.c - golden datasets: JSONL and YAML, defaults, vars,
 * tool_results, selection, and errors with their file:line(:col).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/eval/assert_json.c"
#include "../../plugins/eval/assert_lua.c"
#include "../../plugins/eval/assert_metric.c"
#include "../../plugins/eval/assert_text.c"
#include "../../plugins/eval/assert_tools.c"
#include "../../plugins/eval/assertion.c"
#include "../../plugins/eval/common.c"
#include "../../plugins/eval/dataset.c"
#include "../../plugins/eval/judge.c"
#include "../../plugins/eval/schema.c"

#ifndef SW_TEST_SOURCE_DIR
#define SW_TEST_SOURCE_DIR "tests"
#endif
#define FIX SW_TEST_SOURCE_DIR "/fixtures/eval/"

/* Every diagnostic, one per line. */
static char *all_diags(sw_diags *d)
{
    sw_buf b = {0};
    for (size_t i = 0; i < sw_diags_count(d); i++) {
        char *t = sw_diags_format(d, i);
        sw_buf_printf(&b, "%s\n", t);
        free(t);
    }
    return sw_buf_steal(&b);
}

static ev_case *case_at(ev_dataset *ds, size_t i)
{
    sw_err err;
    ev_case *c = ev_dataset_case(ds, i, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    return c;
}

static const char *content_of(const ev_case *c, size_t i)
{
    return json_string_value(json_object_get(json_array_get(c->messages, i), "content"));
}

START_TEST(test_jsonl)
{
    sw_diags *d = sw_diags_new();
    ev_dataset *ds = ev_dataset_open(FIX "basic.jsonl", NULL, d);
    char *text = all_diags(d);
    ck_assert_msg(ds != NULL, "%s", text);
    free(text);
    sw_diags_free(d);
    ck_assert_uint_eq(ev_dataset_count(ds), 4);
    ck_assert_uint_eq(ev_dataset_total(ds), 4);

    /* The file's hash is of its exact bytes. */
    sw_err err;
    size_t len;
    char *bytes = sw_read_file(FIX "basic.jsonl", 0, &len, &err);
    char hex[65];
    sw_sha256_hex(bytes, len, hex);
    free(bytes);
    ck_assert_str_eq(ev_dataset_sha256(ds), hex);

    ev_case *c = case_at(ds, 0);
    ck_assert_str_eq(c->id, "greet");
    ck_assert_int_eq(c->line, 2);
    ck_assert_str_eq(content_of(c, 0), "Hello Northwind!");
    ck_assert_str_eq(c->input, "Hello Northwind!");
    /* defaults.assert first, then the case's own. */
    ck_assert_uint_eq(c->n_asserts, 2);
    ck_assert_str_eq(c->asserts[0].type, "latency");
    ck_assert_str_eq(c->asserts[1].type, "icontains");
    ck_assert_ptr_nonnull(json_object_get(c->tool_results, "escalate_to_human"));
    ev_case_unref(c);

    c = case_at(ds, 1);
    ck_assert_str_eq(c->id, "case-2"); /* the second case, on line 4 */
    ck_assert_int_eq(c->line, 4);
    ck_assert_str_eq(content_of(c, 0), "Where is NW-104233?");
    ck_assert_str_eq(json_string_value(json_object_get(c->vars, "company")), "Northwind");
    /* The value's {{order}} is the case's var. */
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(c->asserts[1].value, "arguments"), "order_id")),
                     "NW-104233");
    ck_assert_uint_eq(json_array_size(json_object_get(c->tool_results, "lookup_order")), 2);
    ck_assert_ptr_nonnull(json_object_get(c->tool_results, "escalate_to_human"));
    ev_case_unref(c);

    c = case_at(ds, 2);
    ck_assert_uint_eq(json_array_size(c->messages), 3); /* history, then input */
    ck_assert_str_eq(content_of(c, 2), "Yes.");
    ck_assert_str_eq(c->input, "Yes.");
    ck_assert_int_eq(c->has_threshold, 1);
    ck_assert_double_eq_tol(c->threshold, 0.5, 1e-12);
    /* contains without a value takes `expected`. */
    ck_assert_str_eq(json_string_value(c->asserts[1].value), "refund");
    ev_case_unref(c);

    c = case_at(ds, 3);
    ck_assert_uint_eq(json_array_size(c->messages), 4);
    ck_assert_str_eq(c->input, "three");
    ck_assert_str_eq(json_string_value(json_array_get(c->tags, 0)), "orders");
    ev_case_unref(c);
    ev_dataset_close(ds);
}
END_TEST

START_TEST(test_selection)
{
    json_t *tags = json_pack("[s]", "smoke");
    ev_dataset_opts o = {.tags = tags};
    ev_dataset *ds = ev_dataset_open(FIX "basic.jsonl", &o, NULL);
    ck_assert_ptr_nonnull(ds);
    ck_assert_uint_eq(ev_dataset_count(ds), 2);
    ck_assert_uint_eq(ev_dataset_total(ds), 4);
    ev_case *c = case_at(ds, 1);
    ck_assert_uint_eq(c->index, 1);
    ev_case_unref(c);
    ev_dataset_close(ds);
    json_decref(tags);

    ev_dataset_opts lim = {.limit = 3};
    ds = ev_dataset_open(FIX "basic.jsonl", &lim, NULL);
    ck_assert_uint_eq(ev_dataset_count(ds), 3);
    ev_dataset_close(ds);
}
END_TEST

START_TEST(test_jsonl_errors)
{
    sw_diags *d = sw_diags_new();
    ev_dataset *ds = ev_dataset_open(FIX "errors.jsonl", NULL, d);
    ck_assert_ptr_null(ds);
    char *text = all_diags(d);
    const char *want[] = {
        "errors.jsonl:2: error: case 'broken': assert[0]: unknown assertion type 'contians' "
        "(did you mean 'contains'?)",
        "errors.jsonl:3: error: case 'ok': duplicate id (first used at line 1)",
        "errors.jsonl:4:3: error: invalid JSON:",
        "errors.jsonl:5: error: case 'typo': case: unknown key 'inptu' (did you mean 'input'?)",
        "errors.jsonl:5: error: case 'typo': input is required",
        "errors.jsonl:6: error: case 'no-input': input is required",
        "errors.jsonl:7: error: case 'bad-var': input: '{{missing}}' has no value in the case's "
        "vars",
        "errors.jsonl:8: error: case 'bad-tool': assert[0]: tool-call: a tool call has name and "
        "arguments, not 'nam'",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(strstr(text, want[i]) != NULL, "missing '%s' in:\n%s", want[i], text);
    ck_assert_uint_eq(sw_diags_errors(d), 8);
    free(text);
    sw_diags_free(d);

    /* One line, as a tool would: the position is the line given. */
    d = sw_diags_new();
    const char *line = "{\"id\": \"x\", \"input\": \"a\", \"assert\": [{\"type\": \"regex\", "
                       "\"value\": \"(\"}]}";
    ck_assert_ptr_null(ev_case_from_text(line, strlen(line), NULL, "t.jsonl", 41, 0, d));
    text = all_diags(d);
    ck_assert_msg(strstr(text, "t.jsonl:41: error: case 'x': assert[0]: regex: bad regular "
                               "expression") != NULL,
                  "%s", text);
    free(text);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_yaml)
{
    sw_diags *d = sw_diags_new();
    ev_dataset *ds = ev_dataset_open(FIX "basic.yaml", NULL, d);
    char *text = all_diags(d);
    ck_assert_msg(ds != NULL, "%s", text);
    free(text);
    sw_diags_free(d);
    ck_assert_uint_eq(ev_dataset_count(ds), 2);
    ev_case *c = case_at(ds, 0);
    ck_assert_str_eq(c->id, "status");
    ck_assert_int_eq(c->line, 7);
    ck_assert_uint_eq(c->n_asserts, 3);
    ck_assert_str_eq(c->asserts[0].type, "not-contains");
    ck_assert_str_eq(c->asserts[1].type, "tool-called");
    ck_assert_double_eq_tol(c->asserts[2].weight, 2, 1e-12);
    ev_case_unref(c);
    c = case_at(ds, 1);
    ck_assert_str_eq(c->id, "17");
    ev_case_unref(c);
    ev_dataset_close(ds);
}
END_TEST

START_TEST(test_yaml_errors)
{
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(ev_dataset_open(FIX "errors.yaml", NULL, d));
    char *text = all_diags(d);
    ck_assert_msg(strstr(text, "errors.yaml:7:9: error: case 'first': assert[1]: is-json: schema "
                               "at $: keyword '$ref' is not supported") != NULL,
                  "%s", text);
    ck_assert_msg(strstr(text, "errors.yaml:11:5: error: case 'second': case: unknown key 'tagz' "
                               "(did you mean 'tags'?)") != NULL,
                  "%s", text);
    /* Lua's own position, in the file: the block's last line, at its indentation. */
    ck_assert_msg(strstr(text, "errors.yaml:15:9: error: case 'third': assert[0]: lua: ") != NULL &&
                      strstr(text, "errors.yaml:18:11: unexpected symbol near <eof>") != NULL,
                  "%s", text);
    free(text);
    sw_diags_free(d);

    d = sw_diags_new();
    ck_assert_ptr_null(ev_dataset_open(FIX "missing.jsonl", NULL, d));
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    sw_diags_free(d);
}
END_TEST

START_TEST(test_refcount)
{
    ev_dataset *ds = ev_dataset_open(FIX "basic.jsonl", NULL, NULL);
    ev_case *c = case_at(ds, 0);
    ck_assert_ptr_eq(ev_case_ref(c), c);
    ev_case_unref(c);
    ck_assert_int_eq(c->refs, 1);
    ev_case_unref(c);
    sw_err err;
    ck_assert_ptr_null(ev_dataset_case(ds, 4, &err));
    ev_dataset_close(ds);
}
END_TEST

/* A JSONL case of exactly n bytes: {"id": "<id>", "input": "xxx..."}. */
static void put_case(FILE *f, const char *id, size_t n, const char *eol)
{
    int head = fprintf(f, "{\"id\": \"%s\", \"input\": \"", id);
    for (size_t i = (size_t)head; i + 2 < n; i++)
        fputc('x', f);
    fprintf(f, "\"}%s", eol);
}

START_TEST(test_line_cap)
{
    char dir[] = "/tmp/sw-dataset-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *path = sw_path_join(dir, "big.jsonl");
    const size_t cap = EV_MAX_LINE_BYTES;

    /* At the cap (with "\r\n" or "\n" after it) a line is read. */
    FILE *f = fopen(path, "wb");
    put_case(f, "a", cap, "\r\n");
    put_case(f, "b", cap, "\n");
    fclose(f);
    sw_diags *d = sw_diags_new();
    ev_dataset *ds = ev_dataset_open(path, NULL, d);
    char *text = all_diags(d);
    ck_assert_msg(ds != NULL, "%s", text);
    free(text);
    ck_assert_uint_eq(ev_dataset_count(ds), 2);
    ev_case *c = case_at(ds, 1);
    ck_assert_uint_eq(strlen(c->input), cap - strlen("{\"id\": \"b\", \"input\": \"\"}"));
    ev_case_unref(c);
    ev_dataset_close(ds);
    sw_diags_free(d);

    /* One byte over: an error at that line; the lines after it are still checked. */
    f = fopen(path, "wb");
    put_case(f, "a", 20, "\n");
    put_case(f, "b", cap + 1, "\n");
    put_case(f, "a", 20, "\n");
    fclose(f);
    d = sw_diags_new();
    ck_assert_ptr_null(ev_dataset_open(path, NULL, d));
    text = all_diags(d);
    char *want = sw_xasprintf("big.jsonl:2: error: the line is %zu bytes long, over the cap of "
                              "%zu bytes on one JSONL case",
                              cap + 2, cap);
    ck_assert_msg(strstr(text, want) != NULL, "missing '%s' in:\n%s", want, text);
    ck_assert_msg(strstr(text, "big.jsonl:3: error: case 'a': duplicate id (first used at line 1)"),
                  "%s", text);
    ck_assert_uint_eq(sw_diags_errors(d), 2);
    free(want);
    free(text);
    sw_diags_free(d);

    /* No newline at all, several caps long. */
    f = fopen(path, "wb");
    for (size_t i = 0; i < 3 * cap; i++)
        fputc('[', f);
    fclose(f);
    d = sw_diags_new();
    ck_assert_ptr_null(ev_dataset_open(path, NULL, d));
    text = all_diags(d);
    ck_assert_msg(strstr(text, "big.jsonl:1: error: the line is 3145728 bytes long"), "%s", text);
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    free(text);
    sw_diags_free(d);

    unlink(path);
    rmdir(dir);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("eval_dataset");
    TCase *tc = tcase_create("dataset");
    tcase_add_test(tc, test_jsonl);
    tcase_add_test(tc, test_selection);
    tcase_add_test(tc, test_jsonl_errors);
    tcase_add_test(tc, test_yaml);
    tcase_add_test(tc, test_yaml_errors);
    tcase_add_test(tc, test_refcount);
    tcase_add_test(tc, test_line_cap);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
