/* check_router_route.c - routes: parsing and its errors, rules, assignment, merge patch, and
   the changes the admin API and `route --store` build (route_change.c). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "router/route.h"
#include "router/route_change.h"

static sw_route *parse(const char *text, sw_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "test JSON: %s", je.text);
    sw_route_ctx ctx = {SW_MODE_SERVICE, NULL, NULL};
    sw_route *r = sw_route_from_json("support", j, &ctx, err);
    json_decref(j);
    return r;
}

static const char *base_versions =
    "\"versions\": {\"v1\": {\"url\": \"http://127.0.0.1:9001/v1/\"},"
    "\"v2\": {\"url\": \"http://127.0.0.1:9002/v1\", \"pricing\": {\"input_per_token\": 0.001, "
    "\"output_per_token\": 0.002}}}";

static sw_route *ok(const char *fields)
{
    char *text = NULL;
    ck_assert_int_gt(asprintf(&text, "{%s, %s}", base_versions, fields), 0);
    sw_err err = {{0}};
    sw_route *r = parse(text, &err);
    ck_assert_msg(r != NULL, "%s: %s", text, err.msg);
    free(text);
    return r;
}

static void bad(const char *fields, const char *expect)
{
    char *text = NULL;
    ck_assert_int_gt(asprintf(&text, "{%s, %s}", base_versions, fields), 0);
    sw_err err = {{0}};
    sw_route *r = parse(text, &err);
    ck_assert_msg(r == NULL, "accepted: %s", text);
    ck_assert_msg(strstr(err.msg, expect) != NULL, "message '%s' lacks '%s'", err.msg, expect);
    free(text);
}

START_TEST(parses_a_full_route)
{
    sw_route *r = ok("\"version\": 4, \"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 5.25,"
                     "\"shadow\": {\"version\": \"v2\", \"percent\": 10},"
                     "\"sessions\": {\"on_change\": \"terminate\", \"ttl_s\": 60},"
                     "\"rules\": [{\"name\": \"staff\", \"header\": \"X-Team\", \"op\": \"eq\","
                     "\"value\": \"platform\", \"version\": \"v2\"}]");
    ck_assert_int_eq(r->version, 4);
    ck_assert_str_eq(r->stable, "v1");
    ck_assert_str_eq(r->candidate, "v2");
    ck_assert(r->weight == 5.25);
    ck_assert_str_eq(r->rollout_id, "v2"); /* one rollout per candidate */
    ck_assert_str_eq(r->shadow, "v2");
    ck_assert_int_eq(r->on_change, SW_POLICY_TERMINATE);
    ck_assert_int_eq(r->ttl_s, 60);
    ck_assert_str_eq(sw_route_find(r, "v1")->url, "http://127.0.0.1:9001/v1"); /* slash trimmed */
    ck_assert(sw_route_find(r, "v2")->price.set);
    ck_assert_str_eq(r->rules[0].conds[0].name, "x-team"); /* headers lowercased */
    ck_assert(sw_route_is_active(r, "v1") && sw_route_is_active(r, "v2"));
    /* Its JSON builds the same route again. */
    json_t *j = sw_route_to_json(r);
    sw_route_ctx ctx = {SW_MODE_SERVICE, NULL, NULL};
    sw_err err = {{0}};
    sw_route *again = sw_route_from_json("support", j, &ctx, &err);
    ck_assert_msg(again != NULL, "%s", err.msg);
    json_t *j2 = sw_route_to_json(again);
    ck_assert(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    sw_route_unref(again);
    sw_route_unref(r);
}
END_TEST

START_TEST(reports_bad_routes)
{
    bad("\"stabel\": \"v1\"", "unknown key 'stabel' (did you mean 'stable'?)");
    bad("\"candidate\": \"v2\"", "missing 'stable'");
    bad("\"stable\": \"v3\"", "stable 'v3' is not one of the route's versions");
    bad("\"stable\": \"v1\", \"candidate\": \"v22\"", "did you mean 'v2'");
    bad("\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 101", "from 0 to 100");
    bad("\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 0.001", "resolution of 0.01");
    bad("\"stable\": \"v1\", \"weight\": 5", "no 'candidate'");
    bad("\"stable\": \"v1\", \"weight\": \"5\"", "must be a number");
    bad("\"stable\": \"v1\", \"rules\": [{\"header\": \"a\", \"op\": \"regex\", \"value\": \"(\","
        "\"version\": \"v1\"}]",
        "bad regex");
    bad("\"stable\": \"v1\", \"rules\": [{\"header\": \"a\", \"op\": \"like\", \"value\": \"x\","
        "\"version\": \"v1\"}]",
        "'op' must be one of");
    bad("\"stable\": \"v1\", \"rules\": [{\"header\": \"a\", \"attr\": \"b\", \"op\": \"eq\","
        "\"value\": \"x\", \"version\": \"v1\"}]",
        "exactly one of 'header' or 'attr'");
    bad("\"stable\": \"v1\", \"rules\": [{\"header\": \"a\", \"op\": \"in\", \"value\": \"x\","
        "\"version\": \"v1\"}]",
        "takes 'values'");
    bad("\"stable\": \"v1\", \"rules\": [{\"header\": \"a\", \"op\": \"eq\", \"value\": \"x\"}]",
        "missing 'version'");
    bad("\"stable\": \"v1\", \"shadow\": {\"percent\": 5}", "shadow: missing 'version'");
    bad("\"stable\": \"v1\", \"sessions\": {\"on_change\": \"keep\"}",
        "drain, migrate or terminate");
    sw_err err = {{0}};
    ck_assert_ptr_null(
        parse("{\"stable\": \"v1\", \"versions\": {\"v1\": {\"url\": \"ftp://x\"}}}", &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "must start with http://"));
    ck_assert_ptr_null(parse("{\"stable\": \"v1\", \"versions\": {\"v1\": {}}}", &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "needs a 'url'"));
    ck_assert_ptr_null(parse("[1]", &err));
}
END_TEST

typedef struct fake {
    const char *names[4];
    const char *values[4];
} fake;

static const char *fake_header(void *ud, const char *name)
{
    fake *f = ud;
    for (int i = 0; i < 4 && f->names[i]; i++)
        if (strcasecmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

START_TEST(rules_match_headers_and_attributes_in_order)
{
    sw_route *r = ok(
        "\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 0, \"rules\": ["
        "{\"name\": \"eq\", \"header\": \"x-team\", \"op\": \"eq\", \"value\": \"platform\", "
        "\"version\": \"v2\"},"
        "{\"name\": \"in\", \"attr\": \"metadata.tenant\", \"op\": \"in\", \"values\": [\"acme\", "
        "\"globex\"], \"version\": \"v2\"},"
        "{\"name\": \"prefix\", \"attr\": \"user\", \"op\": \"prefix\", \"value\": \"staff-\", "
        "\"version\": \"v2\"},"
        "{\"name\": \"regex\", \"header\": \"x-region\", \"op\": \"regex\", \"value\": "
        "\"^eu-(west|north)-[0-9]+$\", \"version\": \"v2\"},"
        "{\"name\": \"both\", \"all\": [{\"header\": \"x-beta\", \"op\": \"eq\", \"value\": \"1\"},"
        "  {\"attr\": \"metadata.plan\", \"op\": \"eq\", \"value\": \"pro\"}], \"version\": "
        "\"v2\"},"
        "{\"name\": \"int\", \"attr\": \"metadata.level\", \"op\": \"eq\", \"value\": \"3\", "
        "\"version\": \"v2\"}]");
    struct {
        const char *hname, *hvalue, *body, *want_rule;
    } cases[] = {
        {"X-Team", "platform", "{}", "eq"},
        {"X-Team", "platforms", "{}", NULL},
        {NULL, NULL, "{\"metadata\": {\"tenant\": \"globex\"}}", "in"},
        {NULL, NULL, "{\"metadata\": {\"tenant\": \"initech\"}}", NULL},
        {NULL, NULL, "{\"user\": \"staff-ann\"}", "prefix"},
        {NULL, NULL, "{\"user\": \"ann-staff-\"}", NULL},
        {"x-region", "eu-west-1", "{}", "regex"},
        {"x-region", "us-west-1", "{}", NULL},
        {"x-beta", "1", "{\"metadata\": {\"plan\": \"pro\"}}", "both"},
        {"x-beta", "1", "{\"metadata\": {\"plan\": \"free\"}}", NULL},
        {NULL, NULL, "{\"metadata\": {\"level\": 3}}", "int"},
        /* the first matching rule wins */
        {"x-team", "platform", "{\"user\": \"staff-bob\"}", "eq"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fake f = {{cases[i].hname}, {cases[i].hvalue}};
        json_t *body = json_loads(cases[i].body, 0, NULL);
        sw_attrs a = {fake_header, &f, body};
        sw_reason reason;
        const char *rule;
        const char *v = sw_route_assign(r, "some-session", &a, &reason, &rule);
        if (cases[i].want_rule) {
            ck_assert_msg(reason == SW_REASON_RULE, "case %zu: no rule matched", i);
            ck_assert_str_eq(rule, cases[i].want_rule);
            ck_assert_str_eq(v, "v2");
        } else {
            ck_assert_msg(reason == SW_REASON_SPLIT, "case %zu: rule '%s' matched", i, rule);
            ck_assert_str_eq(v, "v1"); /* weight 0: stable */
        }
        json_decref(body);
    }
    sw_route_unref(r);
}
END_TEST

START_TEST(split_is_sticky_across_weight_changes)
{
    sw_route *r5 = ok("\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 5");
    sw_route *r25 = ok("\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 25");
    sw_route *other = ok("\"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 25, "
                         "\"rollout_id\": \"another-rollout\"");
    sw_attrs a = {NULL, NULL, NULL};
    int n5 = 0, n25 = 0, same = 0;
    char key[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "conv-%d", i);
        sw_reason reason;
        int in5 = strcmp(sw_route_assign(r5, key, &a, &reason, NULL), "v2") == 0;
        int in25 = strcmp(sw_route_assign(r25, key, &a, &reason, NULL), "v2") == 0;
        int in_other = strcmp(sw_route_assign(other, key, &a, &reason, NULL), "v2") == 0;
        ck_assert_int_eq(reason, SW_REASON_SPLIT);
        ck_assert_msg(!in5 || in25, "%s was on the candidate at 5%% but not at 25%%", key);
        n5 += in5;
        n25 += in25;
        same += in25 == in_other;
    }
    ck_assert_msg(n5 > 120 && n5 < 280, "5%%: %d of 4000", n5);
    ck_assert_msg(n25 > 850 && n25 < 1150, "25%%: %d of 4000", n25);
    /* Another rollout id buckets independently. */
    ck_assert_msg(same < 3900, "rollout ids do not matter: %d", same);
    sw_route_unref(r5);
    sw_route_unref(r25);
    sw_route_unref(other);
}
END_TEST

START_TEST(shadow_is_sticky_and_skips_its_own_version)
{
    sw_route *r = ok("\"stable\": \"v1\", \"shadow\": {\"version\": \"v2\", \"percent\": 50}");
    int shadowed = 0;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "s%d", i);
        const char *s = sw_route_shadow_for(r, key, "v1");
        ck_assert(s == NULL || strcmp(s, "v2") == 0);
        ck_assert((s == NULL) == (sw_route_shadow_for(r, key, "v1") == NULL));
        ck_assert_ptr_null(sw_route_shadow_for(r, key, "v2"));
        shadowed += s != NULL;
    }
    ck_assert_msg(shadowed > 400 && shadowed < 600, "%d of 1000", shadowed);
    sw_route_unref(r);
}
END_TEST

START_TEST(gateway_names_are_releases)
{
    json_t *j = json_loads("{\"stable\": \"abc123def456\", \"candidate\": \"0123456789ab\","
                           "\"weight\": 10}",
                           0, NULL);
    sw_route_ctx ctx = {SW_MODE_GATEWAY, NULL, NULL};
    sw_err err = {{0}};
    sw_route *r = sw_route_from_json("billing", j, &ctx, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_str_eq(sw_route_find(r, "abc123def456")->release, "abc123def456");
    ck_assert_ptr_null(sw_route_find(r, "abc123def456")->url);
    json_decref(j);
    sw_route_unref(r);
    j = json_loads("{\"stable\": \"x\", \"versions\": {\"x\": {\"url\": \"http://a\"}}}", 0, NULL);
    ck_assert_ptr_null(sw_route_from_json("billing", j, &ctx, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "not a url"));
    json_decref(j);
}
END_TEST

START_TEST(merge_patch)
{
    json_t *t = json_loads("{\"a\": 1, \"b\": {\"c\": 2, \"d\": 3}, \"e\": [1]}", 0, NULL);
    json_t *p = json_loads("{\"a\": null, \"b\": {\"c\": 5, \"d\": null}, \"e\": {\"f\": null, "
                           "\"g\": 1}, \"h\": \"x\"}",
                           0, NULL);
    sw_json_merge_patch(t, p);
    json_t *want = json_loads("{\"b\": {\"c\": 5}, \"e\": {\"g\": 1}, \"h\": \"x\"}", 0, NULL);
    ck_assert(json_equal(t, want));
    json_decref(t);
    json_decref(p);
    json_decref(want);
}
END_TEST

START_TEST(reasons_and_policies)
{
    sw_reason r;
    sw_policy p;
    ck_assert_int_eq(sw_reason_parse("override", &r), 0);
    ck_assert_int_eq(r, SW_REASON_OVERRIDE);
    ck_assert_str_eq(sw_reason_name(SW_REASON_SPLIT), "split");
    ck_assert_int_eq(sw_reason_parse("nope", &r), -1);
    ck_assert_int_eq(sw_policy_parse("migrate", &p), 0);
    ck_assert_int_eq(p, SW_POLICY_MIGRATE);
    ck_assert_int_eq(sw_policy_parse(NULL, &p), -1);
    char tmp[64];
    json_t *b = json_loads("{\"m\": {\"n\": true, \"x\": 1.5}}", 0, NULL);
    ck_assert_str_eq(sw_attr_text(b, "m.n", tmp), "true");
    ck_assert_ptr_null(sw_attr_text(b, "m.x", tmp));
    ck_assert_ptr_null(sw_attr_text(b, "m.n.deeper", tmp));
    ck_assert_ptr_null(sw_attr_text(b, "m..n", tmp));
    json_decref(b);
}
END_TEST

static sw_route *build_service(void *ud, const char *agent, sw_mode mode, const json_t *j,
                               sw_err *err)
{
    (void)ud;
    sw_route_ctx ctx = {mode, NULL, NULL};
    return sw_route_from_json(agent, j, &ctx, err);
}

static const char *error_message(const json_t *out)
{
    return json_string_value(json_object_get(json_object_get(out, "error"), "message"));
}

START_TEST(changes_are_checked_and_record_what_they_retire)
{
    sw_route *cur = ok("\"version\": 4, \"stable\": \"v1\", \"candidate\": \"v2\", \"weight\": 30");
    sw_route_builder b = {build_service, NULL};
    sw_route *next = NULL;
    json_t *out = NULL;
    /* Compare-and-swap: the version is required, and must be the current one. */
    json_t *patch = json_loads("{\"weight\": 10}", 0, NULL);
    ck_assert_int_eq(sw_route_change_set(cur, "support", SW_MODE_SERVICE, patch, &b, &next, &out),
                     428);
    ck_assert_ptr_null(next);
    json_decref(out);
    json_object_set_new(patch, "version", json_integer(3));
    ck_assert_int_eq(sw_route_change_set(cur, "support", SW_MODE_SERVICE, patch, &b, &next, &out),
                     409);
    ck_assert_int_eq(json_integer_value(json_object_get(out, "current_version")), 4);
    json_decref(out);
    /* Bad input: the route's own error, prefixed with the agent. */
    json_object_set_new(patch, "version", json_integer(4));
    json_object_set_new(patch, "stable", json_string("v9"));
    ck_assert_int_eq(sw_route_change_set(cur, "support", SW_MODE_SERVICE, patch, &b, &next, &out),
                     400);
    ck_assert_msg(strstr(error_message(out), "agent 'support': stable 'v9' is not one of") != NULL,
                  "%s", error_message(out));
    json_decref(out);
    json_decref(patch);
    /* A good change: the next version, with a candidate that leaves recorded as draining. */
    patch = json_loads("{\"version\": 4, \"candidate\": null}", 0, NULL);
    ck_assert_int_eq(sw_route_change_set(cur, "support", SW_MODE_SERVICE, patch, &b, &next, &out),
                     0);
    ck_assert_int_eq(next->version, 5);
    ck_assert(next->weight == 0);
    ck_assert_str_eq(json_string_value(json_object_get(next->retired, "v2")), "drain");
    sw_route_unref(next);
    json_decref(patch);
    /* A rollback with migrate: nothing left draining; with terminate, recorded. */
    sw_policy policy;
    json_t *req = json_loads("{\"sessions\": \"migrate\"}", 0, NULL);
    ck_assert_int_eq(sw_route_change_rollback(cur, "support", req, &b, &next, &policy, &out), 0);
    ck_assert_int_eq(policy, SW_POLICY_MIGRATE);
    ck_assert_ptr_null(json_object_get(next->retired, "v2"));
    json_t *answer = sw_route_rollback_answer(cur, next, policy);
    ck_assert_str_eq(json_string_value(json_object_get(answer, "to")), "v1");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(answer, "from"), "candidate")), "v2");
    json_decref(answer);
    sw_route_unref(next);
    json_object_set_new(req, "sessions", json_string("terminate"));
    ck_assert_int_eq(sw_route_change_rollback(cur, "support", req, &b, &next, &policy, &out), 0);
    ck_assert_str_eq(json_string_value(json_object_get(next->retired, "v2")), "terminate");
    sw_route_unref(next);
    json_object_set_new(req, "sessions", json_string("sometimes"));
    ck_assert_int_eq(sw_route_change_rollback(cur, "support", req, &b, &next, &policy, &out), 400);
    json_decref(out);
    json_decref(req);
    ck_assert_int_eq(sw_route_change_rollback(NULL, "support", NULL, &b, &next, &policy, &out),
                     404);
    json_decref(out);
    sw_route_unref(cur);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_route");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, parses_a_full_route);
    tcase_add_test(tc, reports_bad_routes);
    tcase_add_test(tc, rules_match_headers_and_attributes_in_order);
    tcase_add_test(tc, split_is_sticky_across_weight_changes);
    tcase_add_test(tc, shadow_is_sticky_and_skips_its_own_version);
    tcase_add_test(tc, gateway_names_are_releases);
    tcase_add_test(tc, merge_patch);
    tcase_add_test(tc, reasons_and_policies);
    tcase_add_test(tc, changes_are_checked_and_record_what_they_retire);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
