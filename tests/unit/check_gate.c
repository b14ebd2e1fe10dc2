/* check_gate.c - gates: pass, fail with a reason, errors with file lines, caching. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lua/gate.h"

static void set_double(sw_context *ctx, const char *key, double d)
{
    sw_value v = sw_value_double(d);
    sw_context_set(ctx, key, &v, "test", 0);
}

static sw_context *golden_context(double pass_rate, double latency)
{
    sw_context *ctx = sw_context_new();
    set_double(ctx, "golden.pass_rate", pass_rate);
    set_double(ctx, "golden.latency_p95_ms", latency);
    sw_value v = sw_value_string("r-123");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_string("hunter2-secret");
    sw_context_set(ctx, "env.API_KEY", &v, "env", SW_CTX_SECRET);
    sw_value_free(&v);
    v = sw_value_int(3);
    sw_context_set(ctx, "vars.retries", &v, "vars", 0);
    return ctx;
}

static sw_gate *compile(const char *src)
{
    sw_err err;
    sw_gate *g = sw_gate_compile(src, &(sw_origin){"pipelines/x.yaml", 14, 0, 1}, NULL, &err);
    ck_assert_msg(g != NULL, "%s: %s", src, err.msg);
    return g;
}

/* Evaluate and check the result and the reason (NULL: no reason expected). */
static void expect(sw_gate *g, const sw_context *ctx, sw_gate_result want, const char *reason)
{
    char *why = (char *)"unset";
    sw_gate_result r = sw_gate_eval(g, ctx, &why);
    ck_assert_msg(r == want, "result %d, want %d (%s)", r, want, why ? why : "no reason");
    if (reason) {
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, reason) != NULL, "expected '%s' in '%s'", reason, why);
    } else {
        ck_assert_ptr_null(why);
    }
    free(why);
}

static const char *const expr = "golden.pass_rate >= 0.95 and golden.latency_p95_ms < 1500";

START_TEST(test_pass_and_fail)
{
    sw_gate *g = compile(expr);
    sw_context *good = golden_context(0.97, 1200);
    sw_context *slow = golden_context(0.97, 2000);
    expect(g, good, SW_GATE_PASS, NULL);
    expect(g, slow, SW_GATE_FAIL, "golden.latency_p95_ms (2000.0) < 1500");
    expect(g, good, SW_GATE_PASS, NULL);
    sw_context_free(good);
    sw_context_free(slow);
    sw_gate_free(g);
}
END_TEST

START_TEST(test_reason_from_chunk)
{
    sw_gate *g = compile("if golden.pass_rate < 0.95 then\n"
                         "  return false, string.format('pass rate %.2f below 0.95', "
                         "golden.pass_rate)\n"
                         "end\n"
                         "return true");
    sw_context *low = golden_context(0.90, 100);
    sw_context *ok = golden_context(0.99, 100);
    expect(g, low, SW_GATE_FAIL, "pass rate 0.90 below 0.95");
    expect(g, ok, SW_GATE_PASS, NULL);
    sw_context_free(low);
    sw_context_free(ok);
    sw_gate_free(g);

    g = compile("return nil, 'no data yet'");
    expect(g, NULL, SW_GATE_FAIL, "no data yet");
    sw_gate_free(g);
    g = compile("false, 42");
    expect(g, NULL, SW_GATE_FAIL, "gate returned false");
    sw_gate_free(g);
    g = compile("golden and golden.absent");
    sw_context *ctx = golden_context(1, 1);
    expect(g, ctx, SW_GATE_FAIL, "golden.absent (nil)");
    sw_context_free(ctx);
    sw_gate_free(g);
}
END_TEST

/* Exactly the reason made for a gate that said no without one. */
static void expect_made(const char *src, const sw_context *ctx, const char *reason)
{
    sw_gate *g = compile(src);
    char *why = NULL;
    sw_gate_result r = sw_gate_eval(g, ctx, &why);
    ck_assert_msg(r == SW_GATE_FAIL, "%s: result %d (%s)", src, r, why ? why : "");
    ck_assert_msg(why && strcmp(why, reason) == 0, "%s: reason '%s', want '%s'", src, why, reason);
    free(why);
    sw_gate_free(g);
}

START_TEST(test_made_reasons)
{
    sw_context *ctx = golden_context(0.5, 2000);
    set_double(ctx, "vars.min_pass_rate", 0.95);
    sw_value v = sw_value_string("gpt-4o");
    sw_context_set(ctx, "release.model", &v, "release", 0);
    sw_value_free(&v);

    expect_made("golden.pass_rate >= vars.min_pass_rate", ctx,
                "golden.pass_rate (0.5) >= vars.min_pass_rate (0.95)");
    /* and: the clause that failed; or: every alternative. */
    expect_made("vars.retries == 3 and golden.pass_rate > 0.9", ctx,
                "golden.pass_rate (0.5) > 0.9");
    expect_made("golden.pass_rate > 0.9 or golden.latency_p95_ms < 1500", ctx,
                "golden.pass_rate (0.5) > 0.9 or golden.latency_p95_ms (2000.0) < 1500");
    expect_made("not (vars.retries > 1)", ctx, "not (vars.retries > 1) (true)");
    expect_made("(golden.pass_rate >= 0.95)", ctx, "golden.pass_rate (0.5) >= 0.95");
    expect_made("release.model == 'gpt-4.1' -- pinned", ctx,
                "release.model ('gpt-4o') == 'gpt-4.1'");
    expect_made("math.max(golden.pass_rate, 0.1) > 0.6", ctx,
                "math.max(golden.pass_rate, 0.1) (0.5) > 0.6");
    expect_made("string.find(release.model, 'claude', 1, true)", ctx,
                "string.find(release.model ('gpt-4o'), 'claude', 1, true) returned nil");
    expect_made("golden.missing", ctx, "golden.missing (nil)");
    expect_made("vars.retries > #'abc'", ctx, "vars.retries (3) > #'abc' (3)");
    expect_made("-golden.pass_rate > -0.1", ctx, "-golden.pass_rate (-0.5) > -0.1");
    /* What is not one expression keeps the plain reason. */
    expect_made("false, 42", ctx, "gate returned false");
    expect_made("if vars.retries then return false end return true", ctx, "gate returned false");
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_non_boolean)
{
    sw_context *ctx = golden_context(0.97, 1200);
    sw_gate *g = compile("golden.pass_rate");
    expect(g, ctx, SW_GATE_ERROR, "gate must return a boolean, got number");
    sw_gate_free(g);
    g = compile("release.id");
    expect(g, ctx, SW_GATE_ERROR, "gate must return a boolean, got string");
    sw_gate_free(g);
    g = compile("{}");
    expect(g, ctx, SW_GATE_ERROR, "got table");
    sw_gate_free(g);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_runtime_error_line)
{
    sw_context *ctx = golden_context(0.97, 1200);
    char *why = NULL;
    sw_gate *g = compile("golden.missing < 1");
    ck_assert_int_eq(sw_gate_eval(g, ctx, &why), SW_GATE_ERROR);
    ck_assert_str_eq(why, "pipelines/x.yaml:14: attempt to compare nil with number");
    free(why);
    sw_gate_free(g);

    g = compile("local r = golden.pass_rate\n"
                "local l = golden.latency_p95_ms\n"
                "return r > nope.x");
    ck_assert_int_eq(sw_gate_eval(g, ctx, &why), SW_GATE_ERROR);
    ck_assert_msg(strncmp(why,
                          "pipelines/x.yaml:16: attempt to index a nil value (global "
                          "'nope')",
                          60) == 0,
                  "%s", why);
    ck_assert_msg(strstr(why, "traceback") == NULL, "%s", why);
    free(why);
    sw_gate_free(g);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_compile_errors)
{
    sw_err err;
    sw_gate *g = sw_gate_compile("golden.pass_rate >=", &(sw_origin){"pipelines/x.yaml", 14, 0, 1},
                                 NULL, &err);
    ck_assert_ptr_null(g);
    ck_assert_msg(strncmp(err.msg, "pipelines/x.yaml:14:", 20) == 0, "%s", err.msg);
    g = sw_gate_compile("local x = 1\nreturn x +", &(sw_origin){"pipelines/x.yaml", 20, 0, 1}, NULL,
                        &err);
    ck_assert_ptr_null(g);
    ck_assert_msg(strncmp(err.msg, "pipelines/x.yaml:21:", 20) == 0, "%s", err.msg);
    g = sw_gate_compile("  \n ", &(sw_origin){"pipelines/x.yaml", 3, 0, 1}, NULL, &err);
    ck_assert_ptr_null(g);
    ck_assert_msg(strstr(err.msg, "empty") != NULL, "%s", err.msg);
    g = sw_gate_compile("\x1bLua", &(sw_origin){"pipelines/x.yaml", 3, 0, 1}, NULL, &err);
    ck_assert_ptr_null(g);
}
END_TEST

/* The cached view follows the context: a write changes the generation. */
START_TEST(test_view_follows_context)
{
    sw_gate *g = compile(expr);
    sw_context *ctx = golden_context(0.97, 1200);
    for (int i = 0; i < 3; i++)
        expect(g, ctx, SW_GATE_PASS, NULL);
    set_double(ctx, "golden.pass_rate", 0.5);
    expect(g, ctx, SW_GATE_FAIL, "golden.pass_rate (0.5) >= 0.95");
    set_double(ctx, "golden.pass_rate", 0.99);
    expect(g, ctx, SW_GATE_PASS, NULL);
    expect(g, NULL, SW_GATE_ERROR, "attempt to index a nil value");
    expect(g, ctx, SW_GATE_PASS, NULL);
    sw_context_free(ctx);
    sw_gate_free(g);
}
END_TEST

/* Globals a gate assigns do not carry over into the next evaluation. */
START_TEST(test_globals_do_not_leak)
{
    sw_context *ctx = golden_context(0.97, 1200);
    sw_gate *g = compile("seen = (seen or 0) + 1\nreturn seen == 1");
    for (int i = 0; i < 4; i++)
        expect(g, ctx, SW_GATE_PASS, NULL);
    sw_gate_free(g);
    /* Shadowing an owner table is dropped too. */
    g = compile("local ok = golden.pass_rate > 0.9\ngolden = nil\nreturn ok");
    for (int i = 0; i < 3; i++)
        expect(g, ctx, SW_GATE_PASS, NULL);
    sw_gate_free(g);
    /* Even when the gate fails after writing. */
    g = compile("counter = (counter or 0) + 1\nif counter > 1 then return false end\nerror('x')");
    for (int i = 0; i < 3; i++)
        expect(g, ctx, SW_GATE_ERROR, "pipelines/x.yaml:16: x");
    sw_gate_free(g);
    sw_context_free(ctx);
}
END_TEST

START_TEST(test_gate_sandboxed)
{
    sw_context *ctx = golden_context(0.97, 1200);
    sw_gate *g = compile("env == nil and os == nil and io == nil and load == nil and "
                         "vars.retries == 3 and math.type(vars.retries) == 'integer' and "
                         "release.id == 'r-123' and math.max(1, 2) == 2");
    expect(g, ctx, SW_GATE_PASS, NULL);
    sw_gate_free(g);

    sw_lua_limits lim = {.max_steps = 100000, .timeout_ms = 60000};
    sw_err err;
    g = sw_gate_compile("(function() while true do end end)()", &(sw_origin){"p.yaml", 5, 0, 1},
                        &lim, &err);
    ck_assert_ptr_nonnull(g);
    expect(g, ctx, SW_GATE_ERROR, "instruction limit of 100000 exceeded");
    expect(g, ctx, SW_GATE_ERROR, "instruction limit of 100000 exceeded");
    sw_gate_free(g);

    lim = (sw_lua_limits){.memory_bytes = 4u << 20};
    g = sw_gate_compile("#string.rep('x', 1e8) > 0", &(sw_origin){"p.yaml", 5, 0, 1}, &lim, &err);
    ck_assert_ptr_nonnull(g);
    expect(g, ctx, SW_GATE_ERROR, "memory limit of 4194304 bytes exceeded");
    sw_gate_free(g);
    sw_context_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("gate");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pass_and_fail);
    tcase_add_test(tc, test_reason_from_chunk);
    tcase_add_test(tc, test_made_reasons);
    tcase_add_test(tc, test_non_boolean);
    tcase_add_test(tc, test_runtime_error_line);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_view_follows_context);
    tcase_add_test(tc, test_globals_do_not_leak);
    tcase_add_test(tc, test_gate_sandboxed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
