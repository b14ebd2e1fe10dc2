/* check_sandbox.c - the Lua sandbox: what is gone, the caps, errors, values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lua/sandbox.h"

/* Load and call code; on success one result stays on the stack. */
static int run(sw_sandbox *sb, const char *code, sw_err *err)
{
    if (sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"test", 1, 0, 1}, err) < 0)
        return -1;
    return sw_sandbox_call(sb, 0, 1, err);
}

static sw_sandbox *small_sandbox(void)
{
    sw_lua_limits lim = {.memory_bytes = 8u << 20, .max_steps = 2000000, .timeout_ms = 10000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_msg(sb != NULL, "%s", err.msg);
    return sb;
}

/* The state still works: a plain call after a failure returns its value. */
static void assert_usable(sw_sandbox *sb)
{
    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    int top = lua_gettop(L);
    ck_assert_msg(run(sb, "local t = {} for i = 1, 100 do t[i] = i end return #t", &err) == 0, "%s",
                  err.msg);
    ck_assert_int_eq(lua_tointeger(L, -1), 100);
    lua_pop(L, 1);
    ck_assert_int_eq(lua_gettop(L), top);
}

static void assert_fails_with(sw_sandbox *sb, const char *code, const char *needle)
{
    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    int top = lua_gettop(L);
    ck_assert_msg(run(sb, code, &err) < 0, "'%s' should fail", code);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "'%s': expected '%s' in: %s", code, needle,
                  err.msg);
    ck_assert_int_eq(lua_gettop(L), top);
}

START_TEST(test_escapes_absent)
{
    sw_sandbox *sb = small_sandbox();
    static const char *const calls[] = {
        "require('os')",           "load('return 1')",
        "loadstring('return 1')",  "dofile('/etc/passwd')",
        "loadfile('/etc/passwd')", "string.dump(function() end)",
        "collectgarbage()",        "print('x')",
        "('x').dump(print)",
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        assert_fails_with(sb, calls[i], "attempt to call a nil value");
    assert_fails_with(sb, "os.execute('true')", "attempt to index a nil value (global 'os')");
    assert_fails_with(sb, "io.open('/etc/passwd')", "attempt to index a nil value (global 'io')");
    assert_fails_with(sb, "debug.getinfo(1)", "attempt to index a nil value (global 'debug')");
    assert_fails_with(sb, "package.loadlib('x', 'y')", "attempt to index a nil value");

    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    ck_assert_msg(run(sb,
                      "return os == nil and io == nil and package == nil and debug == nil and "
                      "string.dump == nil and load == nil and rawget ~= nil and "
                      "coroutine ~= nil and utf8 ~= nil and math ~= nil and table ~= nil",
                      &err) == 0,
                  "%s", err.msg);
    ck_assert(lua_toboolean(L, -1));
    lua_pop(L, 1);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_string_metatable_hidden)
{
    sw_sandbox *sb = small_sandbox();
    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    ck_assert_msg(run(sb, "return getmetatable('')", &err) == 0, "%s", err.msg);
    ck_assert_int_eq(lua_type(L, -1), LUA_TBOOLEAN);
    ck_assert(!lua_toboolean(L, -1));
    lua_pop(L, 1);
    ck_assert_msg(run(sb, "return getmetatable('') ~= string and ('abc'):upper() == 'ABC'", &err) ==
                      0,
                  "%s", err.msg);
    ck_assert(lua_toboolean(L, -1));
    lua_pop(L, 1);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_gc_metamethod_refused)
{
    sw_sandbox *sb = small_sandbox();
    assert_fails_with(sb, "setmetatable({}, {__gc = function() while true do end end})",
                      "__gc metamethods are not allowed");
    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    ck_assert_msg(run(sb,
                      "local t = setmetatable({}, {__index = function() return 7 end}) "
                      "return t.anything",
                      &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(lua_tointeger(L, -1), 7);
    lua_pop(L, 1);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_bytecode_refused)
{
    sw_sandbox *sb = small_sandbox();
    static const char chunk[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n";
    sw_err err;
    ck_assert_int_eq(
        sw_sandbox_load(sb, chunk, sizeof chunk - 1, &(sw_origin){"evil", 1, 0, 1}, &err), -1);
    ck_assert_msg(strstr(err.msg, "binary") && strstr(err.msg, "text"), "%s", err.msg);
    /* Leading newlines for first_line must not smuggle it past the check. */
    ck_assert_int_eq(
        sw_sandbox_load(sb, chunk, sizeof chunk - 1, &(sw_origin){"evil", 40, 0, 1}, &err), -1);
    ck_assert_msg(strstr(err.msg, "binary") != NULL, "%s", err.msg);
    ck_assert_int_eq(lua_gettop(sw_sandbox_state(sb)), 0);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_infinite_loop_instruction_limit)
{
    sw_lua_limits lim = {.max_steps = 1000000, .timeout_ms = 600000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    assert_fails_with(sb, "while true do end", "instruction limit of 1000000 exceeded");
    assert_usable(sb);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_infinite_loop_time_limit)
{
    sw_lua_limits lim = {.max_steps = UINT64_MAX, .timeout_ms = 30};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    assert_fails_with(sb, "local x = 0 while true do x = x + 1 end",
                      "time limit of 30 ms exceeded");
    sw_sandbox_set_timeout(sb, 20);
    assert_fails_with(sb, "while true do end", "time limit of 20 ms exceeded");
    assert_usable(sb);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_loop_inside_pcall_still_stops)
{
    sw_lua_limits lim = {.max_steps = 500000, .timeout_ms = 600000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    static const char *const escapes[] = {
        "pcall(function() while true do end end) return 'escaped'",
        "while true do pcall(function() while true do end end) end",
        "for i = 1, 100 do pcall(function() while true do end end) end return 'escaped'",
        "while true do xpcall(function() while true do end end, function() while true do end "
        "end) end",
        "xpcall(function() while true do end end, function() while true do end end) "
        "return 'escaped'",
        "local ok, e = pcall(function() while true do end end) error('mine: ' .. tostring(e))",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "local co = coroutine.wrap(function() while true do end end) co() return 'escaped'",
    };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        assert_fails_with(sb, escapes[i], "instruction limit of 500000 exceeded");
        assert_usable(sb);
    }
    sw_sandbox_free(sb);
}
END_TEST

/* xpcall is replaced (its handler runs after unwinding); it must still behave like xpcall. */
START_TEST(test_xpcall_semantics)
{
    sw_sandbox *sb = small_sandbox();
    lua_State *L = sw_sandbox_state(sb);
    sw_err err;
    ck_assert_msg(
        run(sb,
            "local ok, m = xpcall(function(a) error('x' .. a, 0) end, "
            "  function(m) return 'handled: ' .. m end, 5) "
            "assert(ok == false and m == 'handled: x5') "
            "assert(select('#', xpcall(function(a, b) return a, b, 3 end, type, 1, 2)) == 4) "
            "local ok2, e = xpcall(function() error('x') end, function() error('y', 0) end) "
            "assert(ok2 == false and e == 'y') "
            "local co = coroutine.wrap(function() "
            "  return xpcall(function() coroutine.yield(1) return 'done' end, type) end) "
            "assert(co() == 1) local ok3, r = co() assert(ok3 == true and r == 'done') "
            "return pcall(xpcall, function() end)",
            &err) == 0,
        "%s", err.msg);
    ck_assert(!lua_toboolean(L, -1));
    lua_pop(L, 1);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_memory_cap)
{
    sw_sandbox *sb = small_sandbox();
    assert_fails_with(sb, "local t = {} for i = 1, 1e9 do t[i] = i end",
                      "memory limit of 8388608 "
                      "bytes exceeded");
    assert_usable(sb);
    assert_fails_with(sb, "return string.rep('x', 1e9)", "memory limit");
    assert_usable(sb);
    assert_fails_with(sb, "local s = 'x' while true do s = s .. s end", "memory limit");
    assert_usable(sb);
    /* Caught by the script and raised again as an ordinary error: still the cap. */
    assert_fails_with(sb, "local ok, e = pcall(string.rep, 'x', 1e9) error(e, 0)", "memory limit");
    assert_usable(sb);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_memory_cap_too_small_for_state)
{
    sw_lua_limits lim = {.memory_bytes = 2000};
    sw_err err;
    ck_assert_ptr_null(sw_sandbox_new(&lim, &err));
    ck_assert_msg(strstr(err.msg, "memory limit") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_deep_recursion)
{
    sw_lua_limits lim = {.memory_bytes = 64u << 20, .max_steps = 50000000, .timeout_ms = 60000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    lua_State *L = sw_sandbox_state(sb);
    ck_assert_int_eq(run(sb, "local function f(n) return 1 + f(n + 1) end return f(1)", &err), -1);
    ck_assert_msg(strstr(err.msg, "stack overflow") || strstr(err.msg, "memory limit"), "%s",
                  err.msg);
    assert_usable(sb);
    ck_assert_int_eq(run(sb,
                         "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) "
                         "return t.x",
                         &err),
                     -1);
    ck_assert_msg(strstr(err.msg, "stack overflow") != NULL, "%s", err.msg);
    assert_usable(sb);
    ck_assert_int_eq(
        run(sb, "local function f(s) return (s:gsub('.', f)) end return f('abc')", &err), -1);
    assert_usable(sb);
    ck_assert_int_eq(lua_gettop(L), 0);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_error_lines_and_traceback)
{
    sw_sandbox *sb = small_sandbox();
    sw_err err;
    const char *code = "local x = 1\nlocal y = nil\nreturn x < y\n";
    ck_assert_int_eq(
        sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"pipelines/x.yaml", 12, 0, 1}, &err),
        0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 1, &err), -1);
    const char *want = "pipelines/x.yaml:14: attempt to compare number with nil";
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "\nstack traceback:") != NULL, "%s", err.msg);

    /* Far down a file: more newlines than one reader block. */
    code = "return nil + 1";
    ck_assert_int_eq(
        sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"big.yaml", 1000, 0, 1}, &err), 0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 1, &err), -1);
    ck_assert_msg(strncmp(err.msg, "big.yaml:1000: attempt to perform arithmetic", 44) == 0, "%s",
                  err.msg);

    code = "local a = 1\nlocal b = = 2";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"p.yaml", 7, 0, 1}, &err),
                     -1);
    ck_assert_msg(strncmp(err.msg, "p.yaml:8:", 9) == 0, "%s", err.msg);

    code = "error({})";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"p.yaml", 1, 0, 1}, &err),
                     0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 0, &err), -1);
    ck_assert_msg(strstr(err.msg, "error object is a table value") != NULL, "%s", err.msg);
    ck_assert_int_eq(lua_gettop(sw_sandbox_state(sb)), 0);
    sw_sandbox_free(sb);
}
END_TEST

/* Lua cuts chunk names at LUA_IDSIZE bytes; positions must name the whole file
   at any length, with the file's line and column. */
START_TEST(test_error_positions_long_path)
{
    char file[400];
    memset(file, 'd', sizeof file);
    for (size_t i = 10; i < 380; i += 10)
        file[i] = '/';
    strcpy(file + 380, "/pipe_name.yaml");
    sw_sandbox *sb = small_sandbox();
    sw_err err;
    /* A literal block at column 7, its second line indented two more. */
    const char *code = "local t = {}\n  return t.x.y\n";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), &(sw_origin){file, 20, 7, 1}, &err),
                     0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 1, &err), -1);
    char want[512];
    snprintf(want, sizeof want, "%s:21:9: attempt to index a nil value", file);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    /* The traceback's frames name the file too, and no chunk tag leaks. */
    snprintf(want, sizeof want, "%s:21:9: in main chunk", file);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);
    ck_assert_msg(strchr(err.msg, '\x01') == NULL, "%s", err.msg);

    /* A syntax error, and a function defined in the code ("in function <file:L:C>"). */
    code = "local a = 1\nlocal b = = 2";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), &(sw_origin){file, 3, 5, 1}, &err),
                     -1);
    snprintf(want, sizeof want, "%s:4:5:", file);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
    code = "(function()\n  error('boom')\nend)()";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"f.yaml", 1, 1, 1}, &err),
                     0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 0, &err), -1);
    ck_assert_msg(strncmp(err.msg, "f.yaml:2:3: boom", 16) == 0, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "in function <f.yaml:1:1>") != NULL, "%s", err.msg);

    /* Text whose line breaks are not the file's (a quoted string): its line and column. */
    code = "return 1 +\n nil";
    ck_assert_int_eq(
        sw_sandbox_load(sb, code, strlen(code), &(sw_origin){"p.yaml", 9, 12, 0}, &err), 0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 1, &err), -1);
    ck_assert_msg(strncmp(err.msg, "p.yaml:9:12: attempt to perform arithmetic", 42) == 0, "%s",
                  err.msg);

    /* No origin: "lua:LINE". */
    code = "return nil .. 'x'";
    ck_assert_int_eq(sw_sandbox_load(sb, code, strlen(code), NULL, &err), 0);
    ck_assert_int_eq(sw_sandbox_call(sb, 0, 1, &err), -1);
    ck_assert_msg(strncmp(err.msg, "lua:1: attempt to concatenate", 29) == 0, "%s", err.msg);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_call_with_args_and_results)
{
    sw_sandbox *sb = small_sandbox();
    lua_State *L = sw_sandbox_state(sb);
    sw_err err;
    const char *code = "return function(a, b) return a + b, a * b end";
    ck_assert_int_eq(run(sb, code, &err), 0);
    lua_pushinteger(L, 6);
    lua_pushinteger(L, 7);
    ck_assert_int_eq(sw_sandbox_call(sb, 2, LUA_MULTRET, &err), 0);
    ck_assert_int_eq(lua_gettop(L), 2);
    ck_assert_int_eq(lua_tointeger(L, 1), 13);
    ck_assert_int_eq(lua_tointeger(L, 2), 42);
    lua_settop(L, 0);
    sw_sandbox_free(sb);
}
END_TEST

static void round_trip(sw_sandbox *sb, sw_value v)
{
    lua_State *L = sw_sandbox_state(sb);
    sw_err err;
    sw_sandbox_push_value(L, &v);
    sw_value back;
    ck_assert_msg(sw_sandbox_to_value(L, -1, &back, &err) == 0, "%s", err.msg);
    lua_pop(L, 1);
    ck_assert_msg(back.type == v.type, "type %s came back as %s", sw_type_name(v.type),
                  sw_type_name(back.type));
    ck_assert_msg(sw_value_equal(&v, &back), "%s came back as %s",
                  v.type == SW_TYPE_JSON ? v.as.s : "value",
                  back.type == SW_TYPE_JSON ? back.as.s : "other");
    sw_value_free(&v);
    sw_value_free(&back);
}

START_TEST(test_value_round_trips)
{
    sw_sandbox *sb = small_sandbox();
    round_trip(sb, SW_VALUE_NULL);
    round_trip(sb, sw_value_bool(1));
    round_trip(sb, sw_value_bool(0));
    round_trip(sb, sw_value_int(42));
    round_trip(sb, sw_value_int(INT64_MAX));
    round_trip(sb, sw_value_int(INT64_MIN));
    round_trip(sb, sw_value_double(1.0));
    round_trip(sb, sw_value_double(0.1));
    round_trip(sb, sw_value_double(-2.5e300));
    round_trip(sb, sw_value_string("h\xc3\xa9llo"));
    round_trip(sb, sw_value_string(""));
    round_trip(sb, sw_value_json_text("{\"a\":[1,2.5,{\"b\":\"c\"}],\"d\":true,\"e\":{}}"));
    round_trip(sb, sw_value_json_text("[1.0,2,[3,[4,[\"x\"]]]]"));
    round_trip(sb, sw_value_json_text("{}"));
    round_trip(sb, sw_value_json_text("[{\"k\":1}]"));
    ck_assert_int_eq(lua_gettop(sw_sandbox_state(sb)), 0);
    sw_sandbox_free(sb);
}
END_TEST

/* Run code and convert its result. */
static int convert(sw_sandbox *sb, const char *code, sw_value *out, sw_err *err)
{
    sw_err e;
    ck_assert_msg(run(sb, code, &e) == 0, "%s", e.msg);
    lua_State *L = sw_sandbox_state(sb);
    int rc = sw_sandbox_to_value(L, -1, out, err);
    lua_pop(L, 1);
    return rc;
}

START_TEST(test_lua_to_value)
{
    sw_sandbox *sb = small_sandbox();
    sw_value v;
    sw_err err;
    ck_assert_int_eq(convert(sb, "return 3", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_INT);
    ck_assert_int_eq(v.as.i, 3);
    ck_assert_int_eq(convert(sb, "return 3.0", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_DOUBLE);
    ck_assert_int_eq(convert(sb, "return 7 // 2", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_INT);
    ck_assert_int_eq(convert(sb, "return 7 / 7", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_DOUBLE);
    ck_assert_int_eq(convert(sb, "return nil", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_NULL);
    ck_assert_int_eq(convert(sb, "return 'x'", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_STRING);
    ck_assert_str_eq(v.as.s, "x");
    sw_value_free(&v);

    ck_assert_int_eq(convert(sb, "return {3, 2, 1}", &v, &err), 0);
    ck_assert_int_eq(v.type, SW_TYPE_JSON);
    ck_assert_str_eq(v.as.s, "[3,2,1]");
    sw_value_free(&v);
    ck_assert_int_eq(convert(sb, "return {}", &v, &err), 0);
    ck_assert_str_eq(v.as.s, "{}");
    sw_value_free(&v);
    ck_assert_int_eq(convert(sb, "return {b = 1.5, a = {true, 'x'}, c = {}}", &v, &err), 0);
    ck_assert_str_eq(v.as.s, "{\"a\":[true,\"x\"],\"b\":1.5,\"c\":{}}");
    sw_value_free(&v);
    ck_assert_int_eq(convert(sb, "return {n = 2.0}", &v, &err), 0);
    ck_assert_str_eq(v.as.s, "{\"n\":2.0}");
    sw_value_free(&v);

    static const struct {
        const char *code, *needle;
    } bad[] = {
        {"return print or function() end", "cannot convert a function to a value"},
        {"return {f = function() end}", "field 'f': cannot convert a function to a value"},
        {"return {1, nil, 3}", "number key"},
        {"return {[1] = 1, [3] = 3}", "number key"},
        {"return {1, a = 2}", "mixing string keys with number keys"},
        {"return {[1.5] = 1}", "number key"},
        {"return {[true] = 1}", "boolean key"},
        {"local t = {} t.self = t return t", "contains itself"},
        {"local t = {} local c = t for i = 1, 100 do c.x = {} c = c.x end return t",
         "deeper than 64"},
        {"return {0/0}", "nan"},
        {"return {1/0}", "inf"},
        {"return 'a\\0b'", "NUL"},
        {"return '\\xff'", "UTF-8"},
        {"return {k = '\\xc0\\x80'}", "UTF-8"},
        {"return coroutine.create(function() end)", "cannot convert a thread to a value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(convert(sb, bad[i].code, &v, &err) == -1, "%s should not convert",
                      bad[i].code);
        ck_assert_msg(strstr(err.msg, bad[i].needle) != NULL, "%s: expected '%s' in: %s",
                      bad[i].code, bad[i].needle, err.msg);
        ck_assert_int_eq(v.type, SW_TYPE_NULL);
    }
    ck_assert_int_eq(lua_gettop(sw_sandbox_state(sb)), 0);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_context_globals)
{
    sw_context *ctx = sw_context_new();
    sw_value v = sw_value_string("r1");
    sw_context_set(ctx, "release.id", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_int(5);
    sw_context_set(ctx, "vars.x", &v, "vars", 0);
    v = sw_value_double(0.97);
    sw_context_set(ctx, "golden.pass_rate", &v, "golden", 0);
    v = sw_value_string("s3cret-value");
    sw_context_set(ctx, "env.HOME", &v, "env", SW_CTX_SECRET);
    sw_context_set(ctx, "vars.token", &v, "vars", SW_CTX_SECRET);
    sw_value_free(&v);
    v = sw_value_json_text("{\"steps\":[5,25]}");
    sw_context_set(ctx, "release.manifest", &v, "release", 0);
    sw_value_free(&v);
    v = sw_value_int(1);
    sw_context_set(ctx, "a.b.c", &v, "a", 0);
    sw_context_set(ctx, "string.x", &v, "string", 0);

    sw_sandbox *sb = small_sandbox();
    lua_State *L = sw_sandbox_state(sb);
    sw_sandbox_push_context_globals(L, ctx);
    sw_err err;
    ck_assert_msg(run(sb,
                      "return release.id == 'r1' and vars.x == 5 and math.type(vars.x) == "
                      "'integer' and golden.pass_rate == 0.97 and env == nil and "
                      "vars.token == nil and a['b.c'] == 1 and release.manifest.steps[2] == 25 "
                      "and string.x == 1 and string.rep == nil",
                      &err) == 0,
                  "%s", err.msg);
    ck_assert(lua_toboolean(L, -1));
    lua_pop(L, 1);
    ck_assert_int_eq(lua_gettop(L), 0);
    sw_sandbox_free(sb);
    sw_context_free(ctx);
}
END_TEST

/* ---- escapes reviewed for docs/security.md: coroutines, string metatables,
   string.rep bombs, recursion through metamethods ---- */

START_TEST(test_coroutine_tricks)
{
    sw_lua_limits lim = {.memory_bytes = 8u << 20, .max_steps = 500000, .timeout_ms = 600000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    lua_State *L = sw_sandbox_state(sb);
    /* A coroutine made in one call and resumed in a later one runs under that
       later call's caps: nothing is left unhooked between calls. */
    ck_assert_msg(run(sb,
                      "parked = coroutine.create(function() coroutine.yield(1) "
                      "while true do end end) "
                      "return select(2, coroutine.resume(parked))",
                      &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(lua_tointeger(L, -1), 1);
    lua_pop(L, 1);
    assert_fails_with(sb, "return coroutine.resume(parked)",
                      "instruction limit of 500000 exceeded");
    assert_usable(sb);
    /* A loop under pcall inside a coroutine, and a coroutine resuming another. */
    assert_fails_with(sb,
                      "coroutine.wrap(function() pcall(function() while true do end end) end)() "
                      "return 'escaped'",
                      "instruction limit of 500000 exceeded");
    assert_fails_with(sb,
                      "local inner = coroutine.wrap(function() while true do end end) "
                      "coroutine.wrap(function() inner() end)() return 'escaped'",
                      "instruction limit of 500000 exceeded");
    /* The cap's error cannot be swallowed by the coroutine that met it. */
    assert_fails_with(sb,
                      "local co = coroutine.create(function() while true do end end) "
                      "local ok = coroutine.resume(co) "
                      "if not ok then return 'swallowed' end",
                      "instruction limit of 500000 exceeded");
    assert_usable(sb);
    /* Past a breach, code that catches the error and keeps creating coroutines,
       each doing the same, must stop too. Hook counters are per thread, so
       before coroutines were guarded every new one started with a fresh counter
       and this ran forever, whatever the caps. */
    static const char *const spawners[] = {
        "local function spin() while true do "
        "pcall(coroutine.resume, coroutine.create(spin)) end end spin()",
        "local function spin() while true do pcall(coroutine.wrap(spin)) end end spin()",
        "local function spin() while true do coroutine.resume(coroutine.create(spin)) end end "
        "spin()",
        "local function spin() while true do local co = coroutine.create(spin) "
        "pcall(coroutine.resume, co) pcall(coroutine.close, co) end end spin()",
    };
    for (size_t i = 0; i < sizeof spawners / sizeof spawners[0]; i++) {
        assert_fails_with(sb, spawners[i], "instruction limit of 500000 exceeded");
        assert_usable(sb);
    }
    /* Coroutines nested without end: Lua's C-stack guard, not a crash. */
    assert_fails_with(sb, "local function f() return coroutine.wrap(f)() end return f()",
                      "stack overflow");
    assert_usable(sb);
    /* Yielding out of the main chunk is an error, not an escape from the call. */
    assert_fails_with(sb, "coroutine.yield(1) return 'after'", "outside a coroutine");
    assert_usable(sb);
    ck_assert_int_eq(lua_gettop(L), 0);
    sw_sandbox_free(sb);

    /* Thousands of suspended coroutines are memory like any other. */
    sb = small_sandbox();
    assert_fails_with(sb,
                      "local t = {} for i = 1, 1e7 do "
                      "t[i] = coroutine.create(function() coroutine.yield() end) "
                      "coroutine.resume(t[i]) end",
                      "memory limit of 8388608 bytes exceeded");
    assert_usable(sb);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_string_metatable_tricks)
{
    sw_sandbox *sb = small_sandbox();
    /* The metatable of strings can be neither read nor replaced. */
    assert_fails_with(sb, "return getmetatable('').__index", "attempt to index a boolean value");
    assert_fails_with(sb, "setmetatable('', {})", "table expected, got string");
    assert_fails_with(sb, "rawset(getmetatable('x'), '__index', {})",
                      "table expected, got boolean");
    /* The string table is the state's own: a snippet that rewrites it changes
       nothing for another snippet, and what it installs is still capped. */
    sw_err err;
    ck_assert_msg(run(sb, "string.upper = function() while true do end end return 1", &err) == 0,
                  "%s", err.msg);
    lua_pop(sw_sandbox_state(sb), 1);
    assert_fails_with(sb, "return ('x'):upper()", "instruction limit of 2000000 exceeded");
    sw_sandbox *other = small_sandbox();
    lua_State *L = sw_sandbox_state(other);
    ck_assert_msg(run(other, "return ('x'):upper()", &err) == 0, "%s", err.msg);
    ck_assert_str_eq(lua_tostring(L, -1), "X");
    lua_pop(L, 1);
    sw_sandbox_free(other);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_string_rep_bombs)
{
    sw_sandbox *sb = small_sandbox();
    static const char *const bombs[] = {
        "return string.rep('x', 1e8, 'yy')",
        "return ('x'):rep(2^30)",
        "return ('x'):rep(1000):rep(1e6)",
        "local s = ('x'):rep(4096) return (s:gsub('x', s))",
        "local t = {} for i = 1, 1e6 do t[i] = ('x'):rep(64) end return table.concat(t)",
        "return string.format('%s%s', ('x'):rep(5e6), ('x'):rep(5e6))",
        "local s = 'x' for i = 1, 64 do s = s:rep(2) end return #s",
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        assert_fails_with(sb, bombs[i], "memory limit of 8388608 bytes exceeded");
        assert_usable(sb);
    }
    /* Sizes past what a string can hold are refused before anything is allocated. */
    assert_fails_with(sb, "return ('xx'):rep(math.maxinteger)", "resulting string too large");
    assert_fails_with(sb, "return ('x'):rep(3, ('y'):rep(math.maxinteger // 4))", "");
    assert_usable(sb);
    sw_err err;
    lua_State *L = sw_sandbox_state(sb);
    ck_assert_msg(run(sb, "return ('ab'):rep(3, '-') .. ('x'):rep(0) .. ('x'):rep(-5)", &err) == 0,
                  "%s", err.msg);
    ck_assert_str_eq(lua_tostring(L, -1), "ab-ab-ab");
    lua_pop(L, 1);
    sw_sandbox_free(sb);
}
END_TEST

START_TEST(test_recursion_through_metamethods)
{
    sw_lua_limits lim = {.memory_bytes = 64u << 20, .max_steps = 50000000, .timeout_ms = 60000};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    static const char *const deep[] = {
        "local t = setmetatable({}, {__tostring = function(t) return tostring(t) end}) "
        "return tostring(t)",
        "local m = {} m.__concat = function(a, b) return setmetatable({}, m) .. b end "
        "return setmetatable({}, m) .. 'x'",
        "local m = {} m.__eq = function(a, b) return a == setmetatable({}, m) end "
        "return setmetatable({}, m) == setmetatable({}, m)",
        "local t = {} t = setmetatable(t, {__newindex = function(t, k, v) t[k] = v end}) t.x = 1",
        "local function f(n) local ok, e = pcall(f, n + 1) if not ok then error(e, 0) end end "
        "return f(1)",
        "local function f(s) return s:gsub('.', f) end return f('abc')",
        "local t = {} for i = 1, 100 do t[i] = i end "
        "table.sort(t, function(a, b) table.sort(t, function() return a < b end) return a < b end)",
    };
    for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        ck_assert_msg(run(sb, deep[i], &err) < 0, "'%s' should fail", deep[i]);
        ck_assert_msg(strstr(err.msg, "stack overflow") || strstr(err.msg, "limit") ||
                          strstr(err.msg, "invalid order function") ||
                          strstr(err.msg, "error in error handling"),
                      "'%s': %s", deep[i], err.msg);
        assert_usable(sb);
    }
    /* A comparator that never returns is stopped by the instruction cap. */
    sw_sandbox_free(sb);
    lim.max_steps = 1000000;
    sb = sw_sandbox_new(&lim, &err);
    ck_assert_ptr_nonnull(sb);
    assert_fails_with(sb, "local t = {3, 2, 1} table.sort(t, function() while true do end end)",
                      "instruction limit of 1000000 exceeded");
    assert_usable(sb);
    ck_assert_int_eq(lua_gettop(sw_sandbox_state(sb)), 0);
    sw_sandbox_free(sb);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sandbox");
    TCase *tc = tcase_create("sandbox");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_escapes_absent);
    tcase_add_test(tc, test_string_metatable_hidden);
    tcase_add_test(tc, test_gc_metamethod_refused);
    tcase_add_test(tc, test_bytecode_refused);
    tcase_add_test(tc, test_infinite_loop_instruction_limit);
    tcase_add_test(tc, test_infinite_loop_time_limit);
    tcase_add_test(tc, test_loop_inside_pcall_still_stops);
    tcase_add_test(tc, test_xpcall_semantics);
    tcase_add_test(tc, test_memory_cap);
    tcase_add_test(tc, test_memory_cap_too_small_for_state);
    tcase_add_test(tc, test_deep_recursion);
    tcase_add_test(tc, test_error_lines_and_traceback);
    tcase_add_test(tc, test_error_positions_long_path);
    tcase_add_test(tc, test_call_with_args_and_results);
    tcase_add_test(tc, test_value_round_trips);
    tcase_add_test(tc, test_lua_to_value);
    tcase_add_test(tc, test_context_globals);
    tcase_add_test(tc, test_coroutine_tricks);
    tcase_add_test(tc, test_string_metatable_tricks);
    tcase_add_test(tc, test_string_rep_bombs);
    tcase_add_test(tc, test_recursion_through_metamethods);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
