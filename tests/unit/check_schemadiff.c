/* check_schemadiff.c - tool schema changes classified as breaking or compatible (a table). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store/schemadiff.h"

/* The tool in the table's "old" column; each case gives a changed copy. */
static const char *base_tool =
    "{\"name\":\"issue_refund\",\"side_effect\":\"mutating\",\"definition\":{\"type\":\"function\","
    "\"function\":{\"name\":\"issue_refund\",\"description\":\"Refund an order.\","
    "\"parameters\":{\"type\":\"object\",\"additionalProperties\":false,"
    "\"properties\":{"
    "\"order_id\":{\"type\":\"string\",\"description\":\"Order number\",\"pattern\":\"^A[0-9]+$\"},"
    "\"amount\":{\"type\":\"number\",\"minimum\":0,\"maximum\":500},"
    "\"reason\":{\"type\":\"string\",\"enum\":[\"damaged\",\"late\",\"other\"]},"
    "\"notify\":{\"type\":[\"boolean\",\"null\"]},"
    "\"lines\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"sku\":{\"type\":\"string\"},\"qty\":{\"type\":\"integer\"}},\"required\":[\"sku\"]}}},"
    "\"required\":[\"order_id\",\"amount\"]}}}}";

static const char *other_tool = "{\"name\":\"lookup_order\",\"side_effect\":\"read_only\","
                                "\"definition\":{\"type\":\"function\",\"function\":{\"name\":"
                                "\"lookup_order\",\"parameters\":{\"type\":\"object\"}}}}";

/* A JSON path into the tool and the JSON to put there (NULL: delete it). */
typedef struct edit {
    const char *path;
    const char *json;
} edit;

static json_t *at(json_t *root, const char *path, char **last)
{
    char *p = strdup(path), *save = NULL;
    json_t *cur = root;
    char *tok = strtok_r(p, "/", &save), *next;
    while (tok && (next = strtok_r(NULL, "/", &save))) {
        cur = json_object_get(cur, tok);
        ck_assert_msg(cur != NULL, "bad path %s at %s", path, tok);
        tok = next;
    }
    *last = strdup(tok);
    free(p);
    return cur;
}

static json_t *edited(const edit *e)
{
    json_t *t = json_loads(base_tool, 0, NULL);
    ck_assert_ptr_nonnull(t);
    for (; e && e->path; e++) {
        char *key;
        json_t *parent = at(t, e->path, &key);
        if (e->json)
            json_object_set_new(parent, key, json_loads(e->json, JSON_DECODE_ANY, NULL));
        else
            json_object_del(parent, key);
        free(key);
    }
    return t;
}

#define P     "definition/function/parameters/"
#define PROPS P "properties/"

typedef struct diff_case {
    const char *name;
    edit edits[3];
    int remove_tool;  /* the new list lacks issue_refund */
    const char *want; /* the one expected change kind */
    const char *path; /* its path */
    int breaking;
} diff_case;

static const diff_case cases[] = {
    {"removed tool", {{0}}, 1, "tool_removed", "", 1},
    {"removed property", {{PROPS "reason", NULL}}, 0, "property_removed", "reason", 1},
    {"new required property",
     {{PROPS "currency", "{\"type\":\"string\"}"},
      {P "required", "[\"order_id\",\"amount\",\"currency\"]"}},
     0,
     "required_property_added",
     "currency",
     1},
    {"existing property made required",
     {{P "required", "[\"order_id\",\"amount\",\"reason\"]"}},
     0,
     "property_now_required",
     "reason",
     1},
    {"narrowed type number -> integer",
     {{PROPS "amount/type", "\"integer\""}},
     0,
     "type_narrowed",
     "amount",
     1},
    {"narrowed type union",
     {{PROPS "notify/type", "\"boolean\""}},
     0,
     "type_narrowed",
     "notify",
     1},
    {"changed type", {{PROPS "order_id/type", "\"integer\""}}, 0, "type_changed", "order_id", 1},
    {"narrowed enum",
     {{PROPS "reason/enum", "[\"damaged\",\"late\"]"}},
     0,
     "enum_narrowed",
     "reason",
     1},
    {"enum added", {{PROPS "order_id/enum", "[\"A1\"]"}}, 0, "enum_narrowed", "order_id", 1},
    {"lowered maximum", {{PROPS "amount/maximum", "100"}}, 0, "constraint_narrowed", "amount", 1},
    {"nested item property removed",
     {{PROPS "lines/items/properties/qty", NULL}},
     0,
     "property_removed",
     "lines[].qty",
     1},
    {"additionalProperties closed on an open object",
     {{PROPS "lines/items/additionalProperties", "false"}},
     0,
     "additional_properties_narrowed",
     "lines[]",
     1},
    {"side effect escalated",
     {{"side_effect", "\"irreversible\""}},
     0,
     "side_effect_changed",
     "",
     1},
    {"unjudgeable keyword",
     {{PROPS "amount/anyOf", "[{\"minimum\":1}]"}},
     0,
     "keyword_changed",
     "amount",
     1},
    /* Compatible. */
    {"added optional property",
     {{PROPS "note", "{\"type\":\"string\"}"}},
     0,
     "property_added",
     "note",
     0},
    {"widened enum",
     {{PROPS "reason/enum", "[\"damaged\",\"late\",\"other\",\"lost\"]"}},
     0,
     "enum_widened",
     "reason",
     0},
    {"widened type integer -> number",
     {{PROPS "lines/items/properties/qty/type", "\"number\""}},
     0,
     "type_widened",
     "lines[].qty",
     0},
    {"widened type to a union",
     {{PROPS "order_id/type", "[\"string\",\"null\"]"}},
     0,
     "type_widened",
     "order_id",
     0},
    {"property description change",
     {{PROPS "order_id/description", "\"The order's number\""}},
     0,
     "description_changed",
     "order_id",
     0},
    {"tool description change",
     {{"definition/function/description", "\"Refund.\""}},
     0,
     "description_changed",
     "",
     0},
    {"required dropped",
     {{P "required", "[\"order_id\"]"}},
     0,
     "property_now_optional",
     "amount",
     0},
    {"raised maximum", {{PROPS "amount/maximum", "1000"}}, 0, "constraint_widened", "amount", 0},
    {"pattern removed", {{PROPS "order_id/pattern", NULL}}, 0, "constraint_widened", "order_id", 0},
    {"side effect reduced", {{"side_effect", "\"idempotent\""}}, 0, "side_effect_changed", "", 0},
    {"example added", {{PROPS "amount/examples", "[12.5]"}}, 0, "annotation_changed", "amount", 0},
};

START_TEST(test_table)
{
    const diff_case *tc = &cases[_i];
    json_t *old =
        json_pack("[o,o]", json_loads(base_tool, 0, NULL), json_loads(other_tool, 0, NULL));
    json_t *new = tc->remove_tool
                      ? json_pack("[o]", json_loads(other_tool, 0, NULL))
                      : json_pack("[o,o]", edited(tc->edits), json_loads(other_tool, 0, NULL));
    json_t *changes = json_array();
    sw_diff_counts c = sw_tools_diff(old, new, changes);
    char *dump = json_dumps(changes, JSON_COMPACT);
    ck_assert_msg(json_array_size(changes) == 1, "%s: want one change, got %s", tc->name, dump);
    json_t *ch = json_array_get(changes, 0);
    ck_assert_msg(strcmp(json_string_value(json_object_get(ch, "change")), tc->want) == 0,
                  "%s: got %s", tc->name, dump);
    ck_assert_msg(strcmp(json_string_value(json_object_get(ch, "path")), tc->path) == 0,
                  "%s: got %s", tc->name, dump);
    ck_assert_msg(json_is_true(json_object_get(ch, "breaking")) == tc->breaking, "%s: got %s",
                  tc->name, dump);
    ck_assert_str_eq(json_string_value(json_object_get(ch, "tool")), "issue_refund");
    ck_assert_uint_eq(c.breaking, (size_t)tc->breaking);
    ck_assert_uint_eq(c.compatible, (size_t)!tc->breaking);
    free(dump);
    json_decref(changes);
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(test_identical_and_added_tool)
{
    json_t *old = json_pack("[o]", json_loads(base_tool, 0, NULL));
    json_t *same = json_pack("[o]", json_loads(base_tool, 0, NULL));
    json_t *changes = json_array();
    sw_diff_counts c = sw_tools_diff(old, same, changes);
    ck_assert_uint_eq(c.breaking + c.compatible, 0);
    ck_assert_uint_eq(json_array_size(changes), 0);

    json_t *more =
        json_pack("[o,o]", json_loads(base_tool, 0, NULL), json_loads(other_tool, 0, NULL));
    c = sw_tools_diff(old, more, changes);
    ck_assert_uint_eq(c.breaking, 0);
    ck_assert_uint_eq(c.compatible, 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "change")),
                     "tool_added");

    /* From nothing (the first release) every tool is an addition. */
    json_array_clear(changes);
    c = sw_tools_diff(NULL, more, changes);
    ck_assert_uint_eq(c.breaking, 0);
    ck_assert_uint_eq(c.compatible, 2);
    json_decref(changes);
    json_decref(old);
    json_decref(same);
    json_decref(more);
}
END_TEST

/* Several edits at once are each reported, in a stable order. */
START_TEST(test_several_changes_counted)
{
    edit e[] = {{PROPS "reason", NULL}, {PROPS "note", "{\"type\":\"string\"}"}, {0}};
    json_t *old = json_pack("[o]", json_loads(base_tool, 0, NULL));
    json_t *new = json_pack("[o]", edited(e));
    json_t *a = json_array(), *b = json_array();
    sw_diff_counts c = sw_tools_diff(old, new, a);
    sw_tools_diff(old, new, b);
    ck_assert_uint_eq(c.breaking, 1);
    ck_assert_uint_eq(c.compatible, 1);
    ck_assert(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    json_decref(old);
    json_decref(new);
}
END_TEST

START_TEST(test_side_effect_rank)
{
    ck_assert_int_eq(sw_side_effect_rank("read_only"), 0);
    ck_assert_int_eq(sw_side_effect_rank("irreversible"), 3);
    ck_assert_int_eq(sw_side_effect_rank("sometimes"), -1);
    ck_assert_int_eq(sw_side_effect_rank(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schemadiff");
    TCase *tc = tcase_create("schemadiff");
    tcase_add_loop_test(tc, test_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_identical_and_added_tool);
    tcase_add_test(tc, test_several_changes_counted);
    tcase_add_test(tc, test_side_effect_rank);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
