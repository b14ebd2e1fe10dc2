/*
 * check_rollback_op.c - sw_rollback_execute against a real release store and a
 * fake router (the admin API's route and rollback calls, kept in memory): what
 * stable becomes, which half goes first, and that a second run does nothing.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "slipway/rollback.h"
#include "store_fixture.h"

/* The fake router: one agent's route, and every call made. */
typedef struct fake {
    char stable[64], candidate[64];
    double weight;
    int version;
    const char *mode;
    int gets, posts, fail_status;
    char last_body[512];
} fake;

static int fake_call(void *ud, const char *method, const char *path, const char *body, int *status,
                     char **response, char *errbuf, size_t errsize)
{
    fake *f = ud;
    *response = NULL;
    if (f->fail_status) {
        *status = f->fail_status;
        *response = strdup("{\"error\": {\"message\": \"router on fire\"}}");
        return 0;
    }
    if (strcmp(method, "GET") == 0 && strcmp(path, "/admin/agents/demo/route") == 0) {
        f->gets++;
        json_t *r = json_pack("{s:s, s:i, s:s, s:f, s:n}", "mode", f->mode, "version", f->version,
                              "stable", f->stable, "weight", f->weight, "shadow");
        json_object_set_new(r, "candidate",
                            f->candidate[0] ? json_string(f->candidate) : json_null());
        *response = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        *status = 200;
        return 0;
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/admin/agents/demo/rollback") == 0) {
        f->posts++;
        snprintf(f->last_body, sizeof f->last_body, "%s", body ? body : "");
        json_t *b = json_loads(body, 0, NULL);
        const char *to = json_string_value(json_object_get(b, "to"));
        json_t *r = json_pack("{s:s, s:{s:s}, s:s, s:s, s:i, s:{s:i}}", "agent", "demo", "from",
                              "stable", f->stable, "to", to ? to : f->stable, "sessions",
                              json_string_value(json_object_get(b, "sessions")), "pins_affected", 3,
                              "route", "version", f->version + 1);
        if (to)
            snprintf(f->stable, sizeof f->stable, "%s", to);
        f->candidate[0] = '\0';
        f->weight = 0;
        f->version++;
        json_decref(b);
        *response = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        *status = 200;
        return 0;
    }
    snprintf(errbuf, errsize, "unexpected call %s %s", method, path);
    return -1;
}

static char *tmp;
static sw_store *store;
static char *rel[3];

/* Three releases of agent "demo"; stable: r0 then r1 in the history. */
static void setup(void)
{
    tmp = fx_tmpdir();
    char *bundle = fx_bundle(tmp, "b");
    sw_store_error e = {0};
    char *state = sw_path_join(tmp, "state");
    store = sw_store_open(state, &e);
    free(state);
    ck_assert_ptr_nonnull(store);
    for (int i = 0; i < 3; i++) {
        char *p = sw_xasprintf("You help {{company}}, version %d.\n", i);
        fx_write(bundle, "prompts/system.md", p);
        free(p);
        sw_release_options o = {.allow_dirty = 1};
        char *res = NULL;
        sw_diags *d = sw_diags_new();
        ck_assert_int_eq(sw_store_create_release(store, bundle, &o, d, &res, &e), SW_STORE_OK);
        sw_diags_free(d);
        json_t *j = json_loads(res, 0, NULL);
        rel[i] = strdup(json_string_value(json_object_get(j, "id")));
        json_decref(j);
        sw_free(res);
    }
    free(bundle);
}

static void teardown(void)
{
    sw_store_close(store);
    for (int i = 0; i < 3; i++)
        free(rel[i]);
    fx_rm_rf(tmp);
    free(tmp);
}

static void set(const char *channel, const char *id)
{
    sw_store_error e = {0};
    char *cur = NULL;
    ck_assert_int_eq(sw_store_channel(store, "demo", channel, &cur, &e), SW_STORE_OK);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", channel, id, cur, NULL, &e), SW_STORE_OK);
    sw_free(cur);
}

static void expect_channel(const char *channel, const char *want)
{
    sw_store_error e = {0};
    char *cur = NULL;
    ck_assert_int_eq(sw_store_channel(store, "demo", channel, &cur, &e), SW_STORE_OK);
    if (want)
        ck_assert_str_eq(cur, want);
    else
        ck_assert_ptr_null(cur);
    sw_free(cur);
}

static json_t *execute(sw_rollback_request *q)
{
    char *res = NULL;
    char msg[512] = "";
    ck_assert_msg(sw_rollback_execute(q, &res, msg, sizeof msg) == 0, "%s", msg);
    json_t *j = json_loads(res, 0, NULL);
    sw_free(res);
    return j;
}

static int is_already(json_t *r, const char *half)
{
    return json_is_true(json_object_get(json_object_get(r, half), "already"));
}

START_TEST(test_abort_a_canary)
{
    set("stable", rel[0]);
    set("candidate", rel[1]);
    fake f = {.stable = "v1", .candidate = "v2", .weight = 50, .version = 4, .mode = "service"};
    sw_rollback_request q = {.agent = "demo",
                             .sessions = "drain",
                             .store = store,
                             .call = fake_call,
                             .call_userdata = &f};
    json_t *r = execute(&q);
    ck_assert_int_eq(f.posts, 1);
    ck_assert_str_eq(f.last_body, "{\"sessions\":\"drain\"}"); /* no "to": the router's stable */
    ck_assert_str_eq(f.stable, "v1");
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(r, "router"), "pins_affected")), 3);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r, "store"), "candidate_cleared")),
        rel[1]);
    ck_assert(!is_already(r, "router") && !is_already(r, "store"));
    json_decref(r);
    expect_channel("stable", rel[0]);
    expect_channel("candidate", NULL);

    /* Again: nothing to do on either side. */
    r = execute(&q);
    ck_assert_int_eq(f.posts, 1);
    ck_assert(is_already(r, "router") && is_already(r, "store"));
    json_decref(r);
    expect_channel("stable", rel[0]);
}
END_TEST

/* Run "run-1" made r1 candidate, then run "run-2" made r2 candidate and took the gateway
   route: run-1's rollback leaves both alone; run-2's rolls its own back. */
START_TEST(test_another_rollouts_candidate)
{
    set("stable", rel[0]);
    sw_store_error e = {0};
    sw_change_info one = {.run_id = "run-1"}, two = {.run_id = "run-2"};
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "candidate", rel[1], NULL, &one, &e),
                     SW_STORE_OK);
    ck_assert_int_eq(sw_store_set_channel(store, "demo", "candidate", rel[2], rel[1], &two, &e),
                     SW_STORE_OK);
    fake f = {.weight = 25, .version = 7, .mode = "gateway"};
    snprintf(f.stable, sizeof f.stable, "%s", rel[0]);
    snprintf(f.candidate, sizeof f.candidate, "%s", rel[2]);
    sw_rollback_request q = {.agent = "demo",
                             .sessions = "drain",
                             .info = one,
                             .store = store,
                             .call = fake_call,
                             .call_userdata = &f};
    json_t *r = execute(&q);
    ck_assert_int_eq(f.posts, 0);
    ck_assert_str_eq(f.candidate, rel[2]);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r, "router"), "left_candidate")), rel[2]);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r, "store"), "left_candidate")), rel[2]);
    json_decref(r);
    expect_channel("candidate", rel[2]);

    q.info = two;
    r = execute(&q);
    ck_assert_int_eq(f.posts, 1);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r, "store"), "candidate_cleared")),
        rel[2]);
    json_decref(r);
    expect_channel("candidate", NULL);
    expect_channel("stable", rel[0]);
}
END_TEST

START_TEST(test_undo_a_promotion)
{
    /* r0 was stable, the canary promoted r1, then something failed: back to r0. */
    set("stable", rel[0]);
    set("stable", rel[1]);
    fake f = {.weight = 0, .version = 9, .mode = "gateway"};
    snprintf(f.stable, sizeof f.stable, "%s", rel[1]);
    sw_rollback_request q = {.agent = "demo",
                             .bad = rel[1],
                             .sessions = "migrate",
                             .store = store,
                             .call = fake_call,
                             .call_userdata = &f};
    json_t *r = execute(&q);
    expect_channel("stable", rel[0]);
    ck_assert_int_eq(f.posts, 1);
    ck_assert_str_eq(f.stable, rel[0]); /* gateway: the store's release is the router's version */
    ck_assert_ptr_nonnull(strstr(f.last_body, "\"migrate\""));
    json_decref(r);
    /* Again: stable is no longer the bad release, so it stays. */
    r = execute(&q);
    ck_assert(is_already(r, "router") && is_already(r, "store"));
    ck_assert_int_eq(f.posts, 1);
    json_decref(r);
    expect_channel("stable", rel[0]);
}
END_TEST

START_TEST(test_explicit_to_and_store_only)
{
    set("stable", rel[1]);
    set("candidate", rel[2]);
    sw_rollback_request q = {.agent = "demo", .to = rel[0], .store = store};
    json_t *r = execute(&q);
    ck_assert(json_is_null(json_object_get(r, "router")));
    json_decref(r);
    expect_channel("stable", rel[0]);
    expect_channel("candidate", NULL);
    r = execute(&q);
    ck_assert(is_already(r, "store"));
    json_decref(r);
}
END_TEST

START_TEST(test_errors)
{
    set("stable", rel[0]);
    set("candidate", rel[1]);
    fake f = {
        .stable = "v1", .candidate = "v2", .weight = 5, .mode = "service", .fail_status = 500};
    sw_rollback_request q = {
        .agent = "demo", .store = store, .call = fake_call, .call_userdata = &f};
    char *res = NULL;
    char msg[512] = "";
    ck_assert_int_eq(sw_rollback_execute(&q, &res, msg, sizeof msg), -1);
    ck_assert_ptr_null(res);
    ck_assert_ptr_nonnull(strstr(msg, "HTTP 500"));
    ck_assert_ptr_nonnull(strstr(msg, "router on fire"));
    /* The router goes first and refused: the store is untouched, to be retried. */
    expect_channel("candidate", rel[1]);
    q.to = "ffffffffffff";
    q.call = NULL;
    ck_assert_int_eq(sw_rollback_execute(&q, &res, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "ffffffffffff"));
    q.agent = "";
    ck_assert_int_eq(sw_rollback_execute(&q, &res, msg, sizeof msg), -1);
}
END_TEST

int main(void)
{
    (void)fx_has_diag; /* the fixture's diagnostics helpers are not needed here */
    (void)fx_all_diags;
    Suite *s = suite_create("rollback_op");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_abort_a_canary);
    tcase_add_test(tc, test_undo_a_promotion);
    tcase_add_test(tc, test_another_rollouts_candidate);
    tcase_add_test(tc, test_explicit_to_and_store_only);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
