/*
 * check_paths.c - names that come from outside (command-line arguments, agent
 * and tag names, run ids, release references, bundle members) never lead out
 * of the folder they are meant to name: docs/security.md, "Path traversal".
 *
 * Bundle members (prompts/../../x, tools named ../x, symlinks out of the
 * bundle) are covered by check_bundle.c's test_path_traversal; this file
 * covers the store, runs and stage ids. A sentinel file beside the state
 * folder must never be read or replaced.
 */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "model/pipeline.h"
#include "slipway/slipway.h"
#include "slipway/store.h"
#include "store/bundle.h"
#include "store/store_impl.h"

static const char *const evil[] = {
    "..",      "../x",     "../../etc/passwd", "/etc/passwd", "a/../../b", "a/b",  "./a",
    ".",       "",         "a\\..\\b",         "..\\x",       "%2e%2e/x",  "a/..", "~root/x",
    "x\n../y", "\x2e\x2e",
};
#define N_EVIL (sizeof evil / sizeof evil[0])

static char tmp[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void setup(void)
{
    strcpy(tmp, "/tmp/check_paths.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    char *state = sw_path_join(tmp, "state");
    ck_assert_int_eq(mkdir(state, 0700), 0);
    free(state);
    /* What a traversal would reach: tmp/secret next to tmp/state. */
    char *secret = sw_path_join(tmp, "secret");
    FILE *f = fopen(secret, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"format\":1}", f);
    fclose(f);
    free(secret);
}

static void teardown(void)
{
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int has_slash_or_dots(const char *s)
{
    return strchr(s, '/') || strstr(s, "..") || strcmp(s, ".") == 0 || !*s || strchr(s, '\\');
}

START_TEST(test_names_that_become_folders)
{
    for (size_t i = 0; i < N_EVIL; i++) {
        /* An agent name is a folder name under releases/; so is a tag (in JSON
           only, but it shares the rule). Anything with a separator or a dot
           component is refused. */
        if (has_slash_or_dots(evil[i]))
            ck_assert_msg(!sw_agent_name_valid(evil[i]), "agent name '%s' accepted", evil[i]);
        ck_assert_msg(!sw_release_id_valid(evil[i]), "release id '%s' accepted", evil[i]);
        sw_err err;
        ck_assert_msg(sw_stage_id_valid(evil[i], &err) != 0, "stage id '%s' accepted", evil[i]);
    }
    ck_assert(sw_agent_name_valid("support-agent.v2"));
}
END_TEST

START_TEST(test_run_ids)
{
    sw_engine *e = sw_engine_new();
    char *state = sw_path_join(tmp, "state");
    sw_engine_set_state_dir(e, state);
    /* "state/runs/../../secret" would be tmp/secret. */
    static const char *const ids[] = {"../../secret", "../secret", "..", "a/b", "", "/etc"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        sw_diags *d = sw_diags_new();
        char *show = sw_run_show_json(e, ids[i], d);
        ck_assert_msg(show == NULL, "run '%s' shown", ids[i]);
        ck_assert_uint_eq(sw_diags_errors(d), 1);
        ck_assert_msg(strstr(sw_diags_at(d, 0)->message, "is not a run id") != NULL, "%s",
                      sw_diags_at(d, 0)->message);
        sw_diags_free(d);
        d = sw_diags_new();
        ck_assert_ptr_null(sw_run_open(e, ids[i], d));
        ck_assert_uint_ge(sw_diags_errors(d), 1);
        sw_diags_free(d);
    }
    free(state);
    sw_engine_free(e);
}
END_TEST

START_TEST(test_store_names)
{
    char *state = sw_path_join(tmp, "state");
    sw_store_error err;
    sw_store *s = sw_store_open(state, &err);
    ck_assert_msg(s != NULL, "%s", err.message);
    const char *id = "0123456789ab";
    for (size_t i = 0; i < N_EVIL; i++) {
        char *json = NULL, *a = NULL, *r = NULL;
        if (has_slash_or_dots(evil[i])) {
            ck_assert_int_ne(sw_store_releases(s, evil[i], &json, &err), SW_STORE_OK);
            ck_assert_int_ne(sw_store_manifest(s, evil[i], id, &json, &err), SW_STORE_OK);
            ck_assert_int_ne(sw_store_channels(s, evil[i], &json, &err), SW_STORE_OK);
            ck_assert_int_ne(sw_store_release_dir(s, evil[i], id, &json, &err), SW_STORE_OK);
            ck_assert_int_ne(sw_store_set_channel(s, evil[i], "stable", NULL, NULL, NULL, &err),
                             SW_STORE_OK);
        }
        ck_assert_int_ne(sw_store_manifest(s, "demo", evil[i], &json, &err), SW_STORE_OK);
        ck_assert_int_ne(sw_store_channel(s, "demo", evil[i], &json, &err), SW_STORE_OK);
        ck_assert_int_ne(sw_store_tag(s, "demo", id, evil[i], NULL, &err), SW_STORE_OK);
        char *ref = sw_xasprintf("demo:%s", evil[i]);
        ck_assert_int_ne(sw_store_resolve(s, NULL, ref, &a, &r, &err), SW_STORE_OK);
        free(ref);
        ck_assert_ptr_null(json);
    }
    sw_store_close(s);
    /* Nothing was created outside releases/, and the sentinel is untouched. */
    char *secret = sw_path_join(tmp, "secret");
    size_t len;
    sw_err e;
    char *text = sw_read_file(secret, 0, &len, &e);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "{\"format\":1}");
    free(text);
    free(secret);
    free(state);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("paths");
    TCase *tc = tcase_create("paths");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_names_that_become_folders);
    tcase_add_test(tc, test_run_ids);
    tcase_add_test(tc, test_store_names);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
