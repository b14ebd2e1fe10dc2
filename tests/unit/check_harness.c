/*
 * check_harness.c - the stage test harness, and the ABI's stability rules
 * seen from a plugin: a plugin built against an older minor (a smaller
 * descriptor) loads and runs; a plugin checks SW_HAS_FIELD before calling a
 * host function an older host would lack; a host whose table grew by
 * appending still loads today's plugins.
 *
 * Runs against the test plugins in SW_TEST_PLUGIN_DIR.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "slipway/harness.h"

#ifndef SW_TEST_PLUGIN_DIR
#error "SW_TEST_PLUGIN_DIR must name the folder of the built test plugins"
#endif

static sw_harness *with_plugin(const char *name)
{
    sw_harness *h = sw_harness_new();
    sw_harness_add_plugin_dir(h, SW_TEST_PLUGIN_DIR);
    ck_assert_msg(sw_harness_load(h, name) == 0, "%s", sw_harness_error(h));
    return h;
}

START_TEST(test_defaults_and_typed_outputs)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_str_eq(sw_harness_desc(h)->name, "emit");
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    ck_assert_int_eq(sw_harness_status(h), SW_OK);
    ck_assert_str_eq(sw_harness_reason(h), "");
    int64_t i;
    double d;
    const char *s, *j;
    int b;
    ck_assert_int_eq(sw_harness_get_int(h, "i", &i), 0);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(sw_harness_type(h, "d"), SW_TYPE_DOUBLE);
    ck_assert_int_eq(sw_harness_get_double(h, "d", &d), 0);
    ck_assert(d == 0.5);
    ck_assert_int_eq(sw_harness_get_string(h, "s", &s), 0);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(sw_harness_get_bool(h, "b", &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(sw_harness_get_json(h, "j", &j), 0);
    ck_assert_str_eq(j, "{\"a\":[1,2]}");
    /* outputs are written under the stage id, which defaults to the plugin's name */
    ck_assert(sw_harness_has(h, "emit.i"));
    /* an int is readable as a double; a string is not an int */
    ck_assert_int_eq(sw_harness_get_double(h, "i", &d), 0);
    ck_assert(d == 42.0);
    ck_assert_int_eq(sw_harness_get_int(h, "s", &i), -1);
    ck_assert_str_eq(sw_harness_error(h), "context key 'emit.s': expected int, got string");
    ck_assert_int_eq(sw_harness_get_int(h, "nope", &i), -1);
    ck_assert_ptr_nonnull(strstr(sw_harness_error(h), "emit.nope"));
    /* logs and progress */
    ck_assert_uint_eq(sw_harness_log_count(h), 1);
    ck_assert_int_eq(sw_harness_log_level(h, 0), SW_LOG_INFO);
    ck_assert_str_eq(sw_harness_log_message(h, 0), "emitting");
    ck_assert_int_eq(sw_harness_log_find(h, "emit"), 0);
    ck_assert_int_eq(sw_harness_log_find(h, "absent"), -1);
    ck_assert(sw_harness_progress(h) == 1.0);
    char *all = sw_harness_outputs_json(h);
    ck_assert_ptr_nonnull(strstr(all, "\"i\": {"));
    ck_assert_ptr_nonnull(strstr(all, "\"type\": \"int\""));
    sw_free(all);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_with_and_references)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_stage_id(h, "first"), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "int: ${vars.n}\n"
                                            "double: ${vars.n}\n"
                                            "string: \"build ${vars.who}\"\n"
                                            "json: {items: [1, 2, 3]}\n"
                                            "bool: false\n"),
                     0);
    ck_assert_int_eq(sw_harness_set_int(h, "vars.n", 7), 0);
    ck_assert_int_eq(sw_harness_set_string(h, "vars.who", "nightly"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    int64_t i;
    double d;
    const char *s, *j;
    int b;
    ck_assert_int_eq(sw_harness_get_int(h, "i", &i), 0);
    ck_assert_int_eq(i, 7);
    ck_assert_int_eq(sw_harness_type(h, "d"), SW_TYPE_DOUBLE); /* an int bound to a double */
    ck_assert_int_eq(sw_harness_get_double(h, "d", &d), 0);
    ck_assert(d == 7.0);
    ck_assert_int_eq(sw_harness_get_string(h, "first.s", &s), 0);
    ck_assert_str_eq(s, "build nightly");
    ck_assert_int_eq(sw_harness_get_json(h, "j", &j), 0);
    ck_assert_str_eq(j, "{\"items\":[1,2,3]}");
    ck_assert_int_eq(sw_harness_get_bool(h, "b", &b), 0);
    ck_assert_int_eq(b, 0);

    /* every run starts from the initial context again */
    ck_assert_int_eq(sw_harness_set_int(h, "vars.n", 8), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    ck_assert_int_eq(sw_harness_get_int(h, "i", &i), 0);
    ck_assert_int_eq(i, 8);
    ck_assert_uint_eq(sw_harness_log_count(h), 1);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_bad_parameters)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_with(h, "int: 1\ndoubel: 2.5\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "bad parameters: with:2:1: error: stage 'emit': unknown "
                                           "parameter 'doubel' (did you mean 'double'?)");
    ck_assert_int_eq(sw_harness_set_with(h, "int: \"many\"\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_msg(strstr(sw_harness_reason(h), "parameter 'int' expects int") != NULL, "%s",
                  sw_harness_reason(h));
    /* a reference to a key the initial context lacks */
    ck_assert_int_eq(sw_harness_set_with(h, "string: ${vars.missing}\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_msg(strstr(sw_harness_reason(h), "not set in the harness's initial context") != NULL,
                  "%s", sw_harness_reason(h));
    ck_assert(!sw_harness_has(h, "i")); /* nothing ran */
    /* YAML that does not parse, or is not a mapping */
    ck_assert_int_eq(sw_harness_set_with(h, "int: [1,\n"), -1);
    ck_assert_ptr_nonnull(strstr(sw_harness_error(h), "with:"));
    ck_assert_int_eq(sw_harness_set_with(h, "- 1\n"), -1);
    ck_assert_str_eq(sw_harness_error(h), "with: must be a mapping of parameter names to values");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_fail_and_error)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_with(h, "fail_with: pass rate 0.80 below 0.95\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_FAIL);
    ck_assert_str_eq(sw_harness_reason(h), "pass rate 0.80 below 0.95");
    ck_assert(sw_harness_has(h, "i")); /* outputs written before the verdict stay */
    ck_assert_int_eq(sw_harness_set_with(h, "error_with: dataset missing\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "dataset missing");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_secrets_masked)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_string(h, "vars.token", "tok-12345"), 0);
    ck_assert_int_eq(sw_harness_set_secret(h, "vars.token"), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "error_with: \"bad token ${vars.token}\"\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "bad token ***");
    ck_assert_int_eq(sw_harness_set_secret(h, "vars.none"), -1);
    /* ${env.X} reads the environment, as a secret, as a run does */
    setenv("SW_HARNESS_TEST_KEY", "env-secret-777", 1);
    ck_assert_int_eq(sw_harness_set_with(h, "string: ${env.SW_HARNESS_TEST_KEY}\n"
                                            "error_with: \"key ${env.SW_HARNESS_TEST_KEY}\"\n"),
                     0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "key ***");
    const char *s;
    ck_assert_int_eq(sw_harness_get_string(h, "s", &s), 0);
    ck_assert_str_eq(s, "env-secret-777"); /* the stage itself sees the value */
    unsetenv("SW_HARNESS_TEST_KEY");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_cancel_after)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_with(h, "sleep: 60s\n"), 0);
    sw_harness_cancel_after(h, 50);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "cancelled");
    ck_assert(sw_harness_was_cancelled(h));
    sw_harness_free(h);
}
END_TEST

static void *cancel_soon(void *arg)
{
    usleep(50 * 1000);
    sw_harness_cancel(arg);
    return NULL;
}

START_TEST(test_cancel_from_another_thread)
{
    sw_harness *h = with_plugin("emit");
    ck_assert_int_eq(sw_harness_set_with(h, "sleep: 60s\n"), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, cancel_soon, h), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    pthread_join(t, NULL);
    ck_assert(sw_harness_was_cancelled(h));
    /* the next run is not cancelled */
    ck_assert_int_eq(sw_harness_set_with(h, "sleep: 1ms\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    ck_assert(!sw_harness_was_cancelled(h));
    sw_harness_free(h);
}
END_TEST

START_TEST(test_inputs_and_artifacts)
{
    sw_harness *h = with_plugin("reader");
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "plugin 'reader' needs input 'release.id' (string): not "
                                           "set in the initial context");
    /* an int passes where a string is declared (as `slipway check` lets it) but the
       typed getter refuses it at run time */
    ck_assert_int_eq(sw_harness_set_value(h, "release.id", SW_TYPE_INT, "12"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "context key 'release.id': expected string, got int");
    ck_assert_int_eq(sw_harness_set_value(h, "release.id", SW_TYPE_STRING, "\"r-1\""), 0);
    ck_assert_int_eq(sw_harness_set_string(h, "release.size", "big"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h),
                     "plugin 'reader' needs input 'release.size' as int, but it is string");
    sw_harness_free(h);

    h = with_plugin("reader");
    ck_assert_int_eq(sw_harness_set_string(h, "release.id", "r-1"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    const char *s;
    ck_assert_int_eq(sw_harness_get_string(h, "summary", &s), 0);
    ck_assert_str_eq(s, "r-1");
    ck_assert_int_eq(sw_harness_set_value_yaml(h, "release.size", "2048"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    ck_assert_int_eq(sw_harness_get_string(h, "summary", &s), 0);
    ck_assert_str_eq(s, "r-1 (2048 bytes)");
    char *notes = sw_path_join(sw_harness_artifacts_dir(h), "notes.txt");
    ck_assert(sw_file_exists(notes));
    char *tmp = sw_path_dirname(sw_harness_artifacts_dir(h));
    char *root = sw_path_dirname(tmp);
    sw_harness_free(h);
    ck_assert(!sw_file_exists(notes)); /* the temporary folder is gone */
    ck_assert(!sw_file_exists(root));
    free(notes);
    free(tmp);
    free(root);
}
END_TEST

START_TEST(test_initial_values)
{
    sw_harness *h = with_plugin("probe");
    ck_assert_int_eq(sw_harness_set_value(h, "vars.ratio", SW_TYPE_DOUBLE, "5"), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "key: vars.ratio\ntype: double\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    const char *s;
    ck_assert_int_eq(sw_harness_get_string(h, "text", &s), 0);
    ck_assert_str_eq(s, "5"); /* widened to a double, printed in the shortest form */
    ck_assert_int_eq(sw_harness_type(h, "vars.ratio"), SW_TYPE_DOUBLE);
    ck_assert_int_eq(sw_harness_set_value_yaml(h, "vars.cfg", "{a: 1, b: [x]}"), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "key: vars.cfg\ntype: json\n"), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    ck_assert_int_eq(sw_harness_get_string(h, "text", &s), 0);
    ck_assert_str_eq(s, "{\"a\":1,\"b\":[\"x\"]}");
    /* a stage writes only what it declared: probe checks the host refused it */
    ck_assert_int_eq(sw_harness_get_string(h, "set_error", &s), 0);
    ck_assert_ptr_nonnull(strstr(s, "has no declared output 'undeclared'"));

    ck_assert_int_eq(sw_harness_set_value(h, "vars.x", SW_TYPE_INT, "\"text\""), -1);
    ck_assert_str_eq(sw_harness_error(h), "context key 'vars.x': the value is string, not int");
    ck_assert_int_eq(sw_harness_set_value(h, "vars.x", SW_TYPE_INT, "{"), -1);
    ck_assert_ptr_nonnull(strstr(sw_harness_error(h), "not JSON"));
    ck_assert_int_eq(sw_harness_set_int(h, "nodot", 1), -1);
    ck_assert_str_eq(sw_harness_error(h), "context key 'nodot': expected OWNER.NAME");
    sw_harness_free(h);
}
END_TEST

START_TEST(test_load_errors)
{
    sw_harness *h = sw_harness_new();
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_str_eq(sw_harness_reason(h), "no plugin loaded (sw_harness_load)");
    sw_harness_add_plugin_dir(h, SW_TEST_PLUGIN_DIR);
    ck_assert_int_eq(sw_harness_load(h, "no_such_plugin"), -1);
    ck_assert_ptr_nonnull(strstr(sw_harness_error(h), "plugin 'no_such_plugin' not found"));
    ck_assert_int_eq(sw_harness_load(h, SW_TEST_PLUGIN_DIR "/abi_major2.so"), -1);
    ck_assert_ptr_nonnull(strstr(sw_harness_error(h), "built for ABI 2.0"));
    ck_assert_int_eq(sw_harness_set_stage_id(h, "Bad-Id"), -1);
    sw_harness_free(h);
}
END_TEST

START_TEST(test_builtin_lua_stage)
{
    sw_harness *h = sw_harness_new();
    ck_assert_int_eq(sw_harness_load(h, "lua"), 0);
    ck_assert_int_eq(sw_harness_set_stage_id(h, "score"), 0);
    ck_assert_int_eq(sw_harness_set_with(h, "outputs: {total: int}\n"
                                            "code: |\n"
                                            "  function run(ctx)\n"
                                            "    slipway.log('info', 'scoring')\n"
                                            "    return { total = ctx.vars.n * 2 }\n"
                                            "  end\n"),
                     0);
    ck_assert_int_eq(sw_harness_set_int(h, "vars.n", 21), 0);
    ck_assert_msg(sw_harness_run(h) == SW_OK, "%s", sw_harness_reason(h));
    int64_t total;
    ck_assert_int_eq(sw_harness_get_int(h, "total", &total), 0);
    ck_assert_int_eq(total, 42);
    ck_assert_int_ge(sw_harness_log_find(h, "scoring"), 0);
    sw_harness_free(h);
}
END_TEST

/* ---- ABI stability ---- */

START_TEST(test_old_minor_runs)
{
    /* old_minor hands over the ABI 1.0 descriptor, shorter than today's. */
    sw_harness *h = with_plugin("old_minor");
    /* the host's copy keeps the plugin's size: fields past it read as zero */
    ck_assert_uint_le(sw_harness_desc(h)->struct_size, sizeof(sw_stage_desc));
    ck_assert_uint_eq(sw_harness_desc(h)->abi_minor, 0);
    ck_assert_str_eq(sw_harness_desc(h)->name, "old_minor");
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    int ok = 0;
    ck_assert_int_eq(sw_harness_get_bool(h, "ok", &ok), 0);
    ck_assert_int_eq(ok, 1);
    sw_harness_free(h);
}
END_TEST

static unsigned short closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

START_TEST(test_http_present)
{
    sw_harness *h = with_plugin("http_probe");
    ck_assert_int_eq(sw_harness_run(h), SW_OK);
    int has = 0;
    ck_assert_int_eq(sw_harness_get_bool(h, "has_http", &has), 0);
    ck_assert_int_eq(has, 1);
    char with[128];
    snprintf(with, sizeof with, "url: http://127.0.0.1:%u/x\n", (unsigned)closed_port());
    ck_assert_int_eq(sw_harness_set_with(h, with), 0);
    ck_assert_int_eq(sw_harness_run(h), SW_ERROR);
    ck_assert_msg(strstr(sw_harness_reason(h), "/x: connection refused") != NULL, "%s",
                  sw_harness_reason(h));
    sw_harness_free(h);
}
END_TEST

/* An older host: the real table cut short before http. */
static int fake_has_http = -1;
static char fake_log[256];

static sw_status fake_set_bool(sw_stage *st, const char *name, int value)
{
    if (strcmp(name, "has_http") == 0)
        fake_has_http = value;
    return SW_OK;
}

static int fake_http_called;

static sw_status fake_http(sw_stage *st, const sw_http_request *req, sw_http_response *resp)
{
    fake_http_called = 1;
    return SW_ERROR;
}

static void fake_log_fn(sw_stage *st, sw_log_level level, const char *fmt, ...) SW_PRINTF(3, 4);
static void fake_log_fn(sw_stage *st, sw_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fake_log, sizeof fake_log, fmt, ap);
    va_end(ap);
}

START_TEST(test_http_absent_on_older_host)
{
    sw_host older = *sw_host_table();
    older.abi_minor = 0;
    older.struct_size = (uint32_t)offsetof(sw_host, http);
    older.set_bool = fake_set_bool;
    older.log = fake_log_fn;
    older.http = fake_http; /* past struct_size: the plugin must not call it */
    sw_loader *loader = sw_loader_new(&older);
    sw_err err;
    const sw_plugin *p = sw_loader_load_file(loader, SW_TEST_PLUGIN_DIR "/http_probe.so", &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    static const char fake_stage;
    sw_stage *st = (sw_stage *)(void *)&fake_stage; /* only the fake functions see it */
    const char *config[1] = {"http://127.0.0.1:1/never"};
    ck_assert_int_eq(p->desc.run(st, config), SW_OK);
    ck_assert_int_eq(fake_has_http, 0);
    ck_assert_int_eq(fake_http_called, 0);
    ck_assert_ptr_nonnull(strstr(fake_log, "no HTTP client"));
    sw_loader_free(loader);
}
END_TEST

/* A newer host: the table grew by appending; today's plugins still load. */
START_TEST(test_newer_host_appended)
{
    struct {
        sw_host h;
        void (*later[4])(void);
    } newer = {.h = *sw_host_table()};
    newer.h.abi_minor = SW_ABI_MINOR + 1;
    newer.h.struct_size = sizeof newer;
    sw_loader *loader = sw_loader_new(&newer.h);
    sw_err err;
    const char *names[] = {"emit", "old_minor", "http_probe"};
    for (size_t i = 0; i < 3; i++) {
        char *path = sw_xasprintf("%s/%s.so", SW_TEST_PLUGIN_DIR, names[i]);
        ck_assert_msg(sw_loader_load_file(loader, path, &err) != NULL, "%s", err.msg);
        free(path);
    }
    sw_loader_free(loader);
}
END_TEST

static Suite *harness_suite(void)
{
    Suite *s = suite_create("harness");
    TCase *tc = tcase_create("harness");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_defaults_and_typed_outputs);
    tcase_add_test(tc, test_with_and_references);
    tcase_add_test(tc, test_bad_parameters);
    tcase_add_test(tc, test_fail_and_error);
    tcase_add_test(tc, test_secrets_masked);
    tcase_add_test(tc, test_cancel_after);
    tcase_add_test(tc, test_cancel_from_another_thread);
    tcase_add_test(tc, test_inputs_and_artifacts);
    tcase_add_test(tc, test_initial_values);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_builtin_lua_stage);
    suite_add_tcase(s, tc);
    TCase *abi = tcase_create("abi");
    tcase_add_test(abi, test_old_minor_runs);
    tcase_add_test(abi, test_http_present);
    tcase_add_test(abi, test_http_absent_on_older_host);
    tcase_add_test(abi, test_newer_host_appended);
    suite_add_tcase(s, abi);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(harness_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
