/*
 * check_builtin_stages - the built-in stage plugins, run one at a time through
 * the stage test harness (include/slipway/harness.h), the way an SDK user tests
 * a plugin: parameters as YAML, outputs read back, no pipeline file or run.
 * Their end-to-end behaviour (with a router, a mock model) is covered by the
 * integration tests; these check each stage's own contract.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slipway/harness.h"

#define BUILTIN_DIR SW_TEST_BINARY_DIR "/../lib/slipway/plugins"

static char root[64];
static char bundle[4096];

/* A private copy of the example bundle, outside any git work tree. */
static void copy_bundle(void)
{
    snprintf(root, sizeof root, "/tmp/sw-builtin.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(bundle, sizeof bundle, "%s/support-agent", root);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cp -r '%s/../examples/support-agent' '%s'", SW_TEST_SOURCE_DIR,
             bundle);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_bundle(void)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static sw_harness *stage(const char *plugin, const char *with)
{
    sw_harness *h = sw_harness_new();
    sw_harness_add_plugin_dir(h, BUILTIN_DIR);
    ck_assert_msg(sw_harness_load(h, plugin) == 0, "load %s: %s", plugin, sw_harness_error(h));
    ck_assert_int_eq(sw_harness_set_with(h, with), 0);
    return h;
}

START_TEST(versioning_builds_a_release_then_recognizes_it)
{
    copy_bundle();
    char with[8192];
    snprintf(with, sizeof with, "bundle: '%s'", bundle);
    sw_harness *h = stage("versioning", with);
    ck_assert_int_eq(sw_harness_set_stage_id(h, "release"), 0);

    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    const char *id, *agent;
    int changed;
    int64_t breaking;
    ck_assert_int_eq(sw_harness_get_string(h, "id", &id), 0);
    ck_assert_uint_eq(strlen(id), 12);
    char first[13];
    snprintf(first, sizeof first, "%s", id);
    ck_assert_int_eq(sw_harness_get_string(h, "agent", &agent), 0);
    ck_assert_str_eq(agent, "support-agent");
    ck_assert_int_eq(sw_harness_get_bool(h, "changed", &changed), 0);
    ck_assert_int_eq(changed, 1);
    ck_assert_int_eq(sw_harness_get_int(h, "breaking_changes", &breaking), 0);
    ck_assert_int_eq(breaking, 0);
    ck_assert_int_eq(sw_harness_type(h, "previous"), SW_TYPE_NULL); /* no stable yet */

    /* The same content again is the same release, and nothing changed. */
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    ck_assert_int_eq(sw_harness_get_string(h, "id", &id), 0);
    ck_assert_str_eq(id, first);
    ck_assert_int_eq(sw_harness_get_bool(h, "changed", &changed), 0);
    ck_assert_int_eq(changed, 0);
    sw_harness_free(h);
    remove_bundle();
}
END_TEST

START_TEST(versioning_refuses_a_floating_model_alias)
{
    copy_bundle();
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "sed -i 's/gpt-4o-2024-08-06/gpt-4o/' '%s/agent.yaml'", bundle);
    ck_assert_int_eq(system(cmd), 0);
    char with[8192];
    snprintf(with, sizeof with, "bundle: '%s'", bundle);
    sw_harness *h = stage("versioning", with);
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_msg(strstr(sw_harness_reason(h), "gpt-4o") != NULL, "%s", sw_harness_reason(h));
    ck_assert_int_eq(sw_harness_has(h, "id"), 0);
    sw_harness_free(h);
    remove_bundle();
}
END_TEST

START_TEST(canary_refuses_bad_steps_before_touching_a_router)
{
    /* Port 9 on loopback: nothing listens, and init must fail before calling it. */
    sw_harness *h = stage("canary", "router: http://127.0.0.1:9\nagent: support-agent\n"
                                    "candidate: abcdef012345\nsteps: []\n");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_msg(strstr(sw_harness_reason(h), "steps") != NULL, "%s", sw_harness_reason(h));
    sw_harness_free(h);
}
END_TEST

START_TEST(rollback_reports_an_unreachable_router)
{
    sw_harness *h = stage("rollback", "router: http://127.0.0.1:9\nagent: support-agent\n");
    sw_status st = sw_harness_run(h);
    ck_assert_msg(st == SW_ERROR, "status %d: %s", (int)st, sw_harness_reason(h));
    ck_assert_msg(strlen(sw_harness_reason(h)) > 0, "an error says why");
    sw_harness_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("builtin_stages");
    TCase *tc = tcase_create("harness");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, versioning_builds_a_release_then_recognizes_it);
    tcase_add_test(tc, versioning_refuses_a_floating_model_alias);
    tcase_add_test(tc, canary_refuses_bad_steps_before_touching_a_router);
    tcase_add_test(tc, rollback_reports_an_unreachable_router);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
