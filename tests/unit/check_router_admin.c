/* check_router_admin.c - the admin API against a real router object: compare-and-swap on
   routes, the three rollback policies, pins and routes surviving a restart, the token. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "router/router_impl.h"

static char tmpdir[64];
static char *config_path;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    strcpy(tmpdir, "/tmp/check_router_admin.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    config_path = sw_path_join(tmpdir, "router.yaml");
    write_file(config_path, "listen: 127.0.0.1:0\n"
                            "state_file: state/router.json\n"
                            "agents:\n"
                            "  support:\n"
                            "    versions:\n"
                            "      v1: {url: \"http://127.0.0.1:9/v1\"}\n"
                            "      v2: {url: \"http://127.0.0.1:9/v1\"}\n"
                            "      v3: {url: \"http://127.0.0.1:9/v1\"}\n"
                            "    route: {stable: v1, candidate: v2, weight: 50}\n");
}

static void teardown(void)
{
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(config_path);
}

static sw_router *start(void)
{
    sw_diags *d = sw_diags_new();
    sw_router *r = sw_router_load(config_path, NULL, d);
    ck_assert_msg(r != NULL, "load failed");
    ck_assert_int_eq(sw_router_start(r, d), 0);
    ck_assert_int_gt(sw_router_port(r), 0);
    sw_diags_free(d);
    return r;
}

static const char *no_args(void *ud, const char *name)
{
    const char **kv = ud;
    for (int i = 0; kv && kv[i]; i += 2)
        if (strcmp(kv[i], name) == 0)
            return kv[i + 1];
    return NULL;
}

/* One admin call; returns the status, *out the JSON (caller decrefs). */
static int call(sw_router *r, const char *method, const char *path, const char *body, json_t **out)
{
    return sw_admin_handle(r, method, path, no_args, NULL, body ? body : "",
                           body ? strlen(body) : 0, out);
}

static int64_t route_version(sw_router *r)
{
    json_t *j;
    ck_assert_int_eq(call(r, "GET", "/admin/agents/support/route", NULL, &j), 200);
    int64_t v = json_integer_value(json_object_get(j, "version"));
    json_decref(j);
    return v;
}

static void expect(sw_router *r, const char *method, const char *path, const char *body, int status)
{
    json_t *j = NULL;
    int st = call(r, method, path, body, &j);
    char *text = json_dumps(j, JSON_COMPACT);
    ck_assert_msg(st == status, "%s %s %s: %d, want %d: %s", method, path, body ? body : "", st,
                  status, text);
    free(text);
    json_decref(j);
}

static void pin(sw_router *r, const char *session, const char *version)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/admin/agents/support/pins/%s", session);
    snprintf(body, sizeof body, "{\"version\": \"%s\"}", version);
    expect(r, "PUT", path, body, 200);
}

START_TEST(compare_and_swap)
{
    sw_router *r = start();
    ck_assert_int_eq(route_version(r), 1);
    json_t *j;
    ck_assert_int_eq(call(r, "PUT", "/admin/agents/support/route", "{\"weight\": 10}", &j), 428);
    json_decref(j);
    ck_assert_int_eq(
        call(r, "PUT", "/admin/agents/support/route", "{\"version\": 0, \"weight\": 10}", &j), 409);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "current_version")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "route_version_conflict");
    json_decref(j);
    ck_assert_int_eq(
        call(r, "PUT", "/admin/agents/support/route", "{\"version\": 1, \"weight\": 10.25}", &j),
        200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 2);
    ck_assert(json_real_value(json_object_get(j, "weight")) == 10.25);
    ck_assert_str_eq(json_string_value(json_object_get(j, "candidate")), "v2"); /* kept */
    json_decref(j);
    /* The same base version again loses. */
    expect(r, "PUT", "/admin/agents/support/route", "{\"version\": 1, \"weight\": 20}", 409);
    /* An invalid change changes nothing. */
    expect(r, "PUT", "/admin/agents/support/route", "{\"version\": 2, \"candidate\": \"v9\"}", 400);
    expect(r, "PUT", "/admin/agents/support/route", "not json", 400);
    ck_assert_int_eq(route_version(r), 2);
    /* A new candidate is a new rollout; the same one keeps its id. */
    ck_assert_int_eq(call(r, "PUT", "/admin/agents/support/route",
                          "{\"version\": 2, \"candidate\": \"v3\"}", &j),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "rollout_id")), "v3");
    json_decref(j);
    /* A new agent starts from version 0. */
    expect(r, "PUT", "/admin/agents/fresh/route",
           "{\"version\": 0, \"stable\": \"a\", \"versions\": {\"a\": {\"url\": "
           "\"http://127.0.0.1:9\"}}}",
           200);
    expect(r, "GET", "/admin/agents/nobody/route", NULL, 404);
    expect(r, "DELETE", "/admin/agents/support/route", NULL, 405);
    expect(r, "GET", "/admin/nothing", NULL, 404);
    sw_router_free(r);
}
END_TEST

START_TEST(routes_and_pins_survive_a_restart)
{
    sw_router *r = start();
    expect(r, "PUT", "/admin/agents/support/route", "{\"version\": 1, \"weight\": 12.5}", 200);
    pin(r, "conv-1", "v3");
    sw_pin *p = sw_pins_set(&r->pins, "support", "conv-2", "v2", SW_REASON_SPLIT, sw_wall_ms());
    ck_assert_ptr_nonnull(p);
    sw_router_free(r); /* saves nothing more itself: conv-2 was never saved */
    r = start();
    ck_assert_int_eq(route_version(r), 2);
    sw_route *route = sw_hmap_get(&r->routes, "support");
    ck_assert(route->weight == 12.5);
    sw_pin *kept = sw_pins_get(&r->pins, "support", "conv-1");
    ck_assert_ptr_nonnull(kept);
    ck_assert_str_eq(kept->version, "v3");
    ck_assert_int_eq(kept->reason, SW_REASON_OVERRIDE);
    /* conv-2 was pinned after the last save and sw_router_run never ran to save it;
       sw_router_start saves what it loaded, so a second restart keeps conv-1 too. */
    ck_assert_ptr_null(sw_pins_get(&r->pins, "support", "conv-2"));
    sw_router_free(r);
    r = start();
    ck_assert_ptr_nonnull(sw_pins_get(&r->pins, "support", "conv-1"));
    sw_router_free(r);
}
END_TEST

START_TEST(rollback_drain)
{
    sw_router *r = start();
    pin(r, "a", "v2");
    pin(r, "b", "v1");
    json_t *j;
    ck_assert_int_eq(
        call(r, "POST", "/admin/agents/support/rollback", "{\"sessions\": \"drain\"}", &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pins_affected")), 1);
    json_t *route = json_object_get(j, "route");
    ck_assert_str_eq(json_string_value(json_object_get(route, "stable")), "v1");
    ck_assert(json_is_null(json_object_get(route, "candidate")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(route, "retired"), "v2")),
                     "drain");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "from"), "candidate")),
                     "v2");
    json_decref(j);
    /* The pinned session keeps its version; new sessions can only get stable. */
    sw_pin *p = sw_pins_get(&r->pins, "support", "a");
    ck_assert_str_eq(p->version, "v2");
    ck_assert(!p->terminated);
    sw_route *rt = sw_hmap_get(&r->routes, "support");
    ck_assert_ptr_nonnull(sw_route_find(rt, "v2"));
    ck_assert(!sw_route_is_active(rt, "v2"));

    /* A second rollback counts only the sessions it retires: v2's draining session was
       counted by the first one and is left as it was. */
    char body[96];
    snprintf(body, sizeof body, "{\"version\": %lld, \"candidate\": \"v3\", \"weight\": 10}",
             (long long)route_version(r));
    expect(r, "PUT", "/admin/agents/support/route", body, 200);
    pin(r, "c", "v3");
    ck_assert_int_eq(
        call(r, "POST", "/admin/agents/support/rollback", "{\"sessions\": \"drain\"}", &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "pins_affected")), 1);
    json_decref(j);
    ck_assert_str_eq(sw_pins_get(&r->pins, "support", "a")->version, "v2");
    sw_router_free(r);
}
END_TEST

START_TEST(rollback_migrate)
{
    sw_router *r = start();
    pin(r, "a", "v2");
    pin(r, "c", "v3");
    json_t *j;
    ck_assert_int_eq(call(r, "POST", "/admin/agents/support/rollback",
                          "{\"sessions\": \"migrate\", \"version\": 1}", &j),
                     200);
    json_decref(j);
    sw_pin *p = sw_pins_get(&r->pins, "support", "a");
    ck_assert_str_eq(p->version, "v1");
    ck_assert_int_eq(p->reason, SW_REASON_MIGRATE);
    /* v3 was pinned by override but never active: untouched. */
    ck_assert_str_eq(sw_pins_get(&r->pins, "support", "c")->version, "v3");
    sw_router_free(r);
}
END_TEST

START_TEST(rollback_terminate)
{
    sw_router *r = start();
    pin(r, "a", "v2");
    expect(r, "POST", "/admin/agents/support/rollback",
           "{\"sessions\": \"terminate\", \"version\": 7}", 409);
    expect(r, "POST", "/admin/agents/support/rollback", "{\"sessions\": \"forget\"}", 400);
    expect(r, "POST", "/admin/agents/support/rollback", "{\"to\": \"v9\"}", 400);
    expect(r, "POST", "/admin/agents/nobody/rollback", "{}", 404);
    expect(r, "GET", "/admin/agents/support/rollback", NULL, 405);
    expect(r, "POST", "/admin/agents/support/rollback", "{\"sessions\": \"terminate\"}", 200);
    ck_assert(sw_pins_get(&r->pins, "support", "a")->terminated);
    /* Terminated pins are saved as such. */
    sw_router_free(r);
    r = start();
    ck_assert(sw_pins_get(&r->pins, "support", "a")->terminated);
    sw_router_free(r);
}
END_TEST

START_TEST(rollback_to_candidate_and_pins_api)
{
    sw_router *r = start();
    pin(r, "a", "v1");
    json_t *j;
    ck_assert_int_eq(call(r, "POST", "/admin/agents/support/rollback",
                          "{\"to\": \"v2\", \"sessions\": \"migrate\"}", &j),
                     200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "to")), "v2");
    json_decref(j);
    ck_assert_str_eq(sw_pins_get(&r->pins, "support", "a")->version, "v2");
    expect(r, "GET", "/admin/agents/support/pins", NULL, 200);
    expect(r, "GET", "/admin/agents/support/pins/a", NULL, 200);
    expect(r, "PUT", "/admin/agents/support/pins/a", "{\"version\": \"v7\"}", 400);
    expect(r, "DELETE", "/admin/agents/support/pins/a", NULL, 200);
    expect(r, "GET", "/admin/agents/support/pins/a", NULL, 404);
    expect(r, "GET", "/admin/agents", NULL, 200);
    sw_router_free(r);
}
END_TEST

START_TEST(stats_arguments)
{
    sw_router *r = start();
    const char *ok_args[] = {"agent", "support", "since", "5m", NULL};
    json_t *j;
    ck_assert_int_eq(sw_admin_handle(r, "GET", "/admin/stats", no_args, ok_args, "", 0, &j), 200);
    ck_assert_str_eq(json_string_value(json_object_get(j, "agent")), "support");
    json_decref(j);
    const char *iso[] = {"since", "2026-01-02T03:04:05Z", NULL};
    ck_assert_int_eq(sw_admin_handle(r, "GET", "/admin/stats", no_args, iso, "", 0, &j), 200);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "since_ms")), 1767323045000LL);
    json_decref(j);
    const char *bad_args[] = {"since", "yesterday", NULL};
    ck_assert_int_eq(sw_admin_handle(r, "GET", "/admin/stats", no_args, bad_args, "", 0, &j), 400);
    json_decref(j);
    const char *nobody[] = {"agent", "nobody", NULL};
    ck_assert_int_eq(sw_admin_handle(r, "GET", "/admin/stats", no_args, nobody, "", 0, &j), 404);
    json_decref(j);
    ck_assert_int_eq(sw_admin_handle(r, "GET", "/admin/shadow", no_args, NULL, "", 0, &j), 200);
    json_decref(j);
    sw_router_free(r);
}
END_TEST

START_TEST(token)
{
    setenv("SW_TEST_ROUTER_TOKEN", "0123456789abcdef-token", 1);
    write_file(config_path, "listen: 127.0.0.1:0\nstate_file: s.json\n"
                            "admin: {token_env: SW_TEST_ROUTER_TOKEN}\n");
    sw_router *r = start();
    ck_assert(sw_admin_authorized(r, "Bearer 0123456789abcdef-token"));
    ck_assert(sw_admin_authorized(r, "bearer 0123456789abcdef-token"));
    ck_assert(!sw_admin_authorized(r, "Bearer 0123456789abcdef-tokeN"));
    ck_assert(!sw_admin_authorized(r, "Bearer 0123456789abcdef-token2"));
    ck_assert(!sw_admin_authorized(r, "Bearer 0123456789abcdef-toke"));
    ck_assert(!sw_admin_authorized(r, "Bearer "));
    ck_assert(!sw_admin_authorized(r, "0123456789abcdef-token"));
    ck_assert(!sw_admin_authorized(r, NULL));
    sw_router_free(r);
    /* Too short a token is refused at load. */
    setenv("SW_TEST_ROUTER_TOKEN", "short", 1);
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_router_load(config_path, NULL, d));
    ck_assert_uint_eq(sw_diags_errors(d), 1);
    sw_diags_free(d);
    unsetenv("SW_TEST_ROUTER_TOKEN");
}
END_TEST

START_TEST(non_loopback_needs_a_token_file)
{
    write_file(config_path, "listen: 0.0.0.0:0\nstate_file: s.json\n");
    sw_diags *d = sw_diags_new();
    sw_router *r = sw_router_load(config_path, NULL, d);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(sw_router_start(r, d), -1);
    char *msg = sw_diags_format(d, 0);
    ck_assert_ptr_nonnull(strstr(msg, "refusing to listen on 0.0.0.0"));
    free(msg);
    sw_router_free(r);
    sw_diags_free(d);
}
END_TEST

START_TEST(bad_state_file)
{
    char *state_dir = sw_path_join(tmpdir, "state");
    sw_err err = {{0}};
    ck_assert_int_eq(sw_mkdir_p(state_dir, 0755, &err), 0);
    char *state = sw_path_join(state_dir, "router.json");
    write_file(state, "{\"format\": 99}");
    sw_diags *d = sw_diags_new();
    ck_assert_ptr_null(sw_router_load(config_path, NULL, d));
    char *msg = sw_diags_format(d, 0);
    ck_assert_ptr_nonnull(strstr(msg, "not a router state file"));
    free(msg);
    sw_diags_free(d);
    free(state);
    free(state_dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("router_admin");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, compare_and_swap);
    tcase_add_test(tc, routes_and_pins_survive_a_restart);
    tcase_add_test(tc, rollback_drain);
    tcase_add_test(tc, rollback_migrate);
    tcase_add_test(tc, rollback_terminate);
    tcase_add_test(tc, rollback_to_candidate_and_pins_api);
    tcase_add_test(tc, stats_arguments);
    tcase_add_test(tc, token);
    tcase_add_test(tc, non_loopback_needs_a_token_file);
    tcase_add_test(tc, bad_state_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
