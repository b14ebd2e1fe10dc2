/*
 * assert_lua.c - `lua`: an expression or chunk over the answer, in the
 * sandbox gates use (core/lua/sandbox.h), with a fresh state per evaluation
 * so nothing leaks from one case to the next.
 *
 * Globals: output (the answer text), case ({id, vars, expected, tags,
 * input, sample}), usage ({tokens_in, tokens_out, cost_usd, latency_ms,
 * steps}), tool_calls ({{name, arguments}, ...}), finish_reason.
 * Results: true/false (and an optional reason), a number (a score: passes
 * when >= threshold, or > 0 without one), or {pass=, score=, reason=}.
 * A Lua error, a cap reached or any other result is ERROR.
 */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "lua/sandbox.h"

#define LUA_ASSERT_MEMORY  (16u * 1024u * 1024u)
#define LUA_ASSERT_STEPS   10000000u
#define LUA_ASSERT_TIME_MS 1000

typedef struct lua_code {
    char *code;   /* what is loaded: "return <expr>" or the chunk */
    sw_origin at; /* where it was written; at.file is owned */
} lua_code;

static const sw_lua_limits limits = {LUA_ASSERT_MEMORY, LUA_ASSERT_STEPS, LUA_ASSERT_TIME_MS};

static int prepare_lua(ev_assert *a, sw_err *err)
{
    if (!json_is_string(a->value) || !*json_string_value(a->value))
        return sw_err_set(err, "value must be Lua code (an expression or a chunk with return)");
    const char *src = json_string_value(a->value);
    sw_sandbox *sb = sw_sandbox_new(&limits, err);
    if (!sb)
        return -1;
    sw_origin at = a->value_origin;
    if (!at.file)
        at = (sw_origin){"lua assertion", 1, 0, 1};
    char *expr = sw_xasprintf("return %s", src);
    char *code = NULL;
    if (sw_sandbox_load(sb, expr, strlen(expr), &at, NULL) == 0) {
        code = expr;
    } else {
        free(expr);
        if (sw_sandbox_load(sb, src, strlen(src), &at, err) == 0)
            code = sw_xstrdup(src);
    }
    sw_sandbox_free(sb);
    if (!code)
        return -1;
    lua_code *lc = sw_xmalloc(sizeof *lc);
    lc->code = code;
    lc->at = at;
    lc->at.file = sw_xstrdup(at.file);
    a->priv = lc;
    return 0;
}

static void release_lua(ev_assert *a)
{
    lua_code *lc = a->priv;
    if (lc) {
        free(lc->code);
        free((char *)lc->at.file);
    }
    free(lc);
    a->priv = NULL;
}

static void push_json(lua_State *L, const json_t *j)
{
    if (!j || json_is_null(j)) {
        lua_pushnil(L);
        return;
    }
    sw_value v = SW_VALUE_NULL;
    if (json_is_object(j) || json_is_array(j)) {
        char *t = json_dumps(j, JSON_COMPACT);
        v = sw_value_json_text(t);
        free(t);
    } else {
        sw_err err;
        sw_value_from_json(j, &v, &err);
    }
    sw_sandbox_push_value(L, &v);
    sw_value_free(&v);
}

/* Protected: set the globals from the subject (lightuserdata 1). */
static int set_globals(lua_State *L)
{
    const ev_subject *s = lua_touserdata(L, 1);
    const ev_output *o = s->out;
    lua_pushstring(L, o && o->text ? o->text : "");
    lua_setglobal(L, "output");
    lua_pushstring(L, o ? o->finish_reason : NULL);
    lua_setglobal(L, "finish_reason");

    lua_createtable(L, 0, 6);
    lua_pushstring(L, s->case_id);
    lua_setfield(L, -2, "id");
    push_json(L, s->vars);
    lua_setfield(L, -2, "vars");
    push_json(L, s->expected);
    lua_setfield(L, -2, "expected");
    push_json(L, s->tags);
    lua_setfield(L, -2, "tags");
    lua_pushstring(L, s->input);
    lua_setfield(L, -2, "input");
    lua_pushinteger(L, s->sample);
    lua_setfield(L, -2, "sample");
    lua_setglobal(L, "case");

    lua_createtable(L, 0, 5);
    lua_pushinteger(L, o ? o->tokens_in : 0);
    lua_setfield(L, -2, "tokens_in");
    lua_pushinteger(L, o ? o->tokens_out : 0);
    lua_setfield(L, -2, "tokens_out");
    lua_pushnumber(L, o ? o->cost_usd : 0);
    lua_setfield(L, -2, "cost_usd");
    lua_pushnumber(L, o ? o->latency_ms : 0);
    lua_setfield(L, -2, "latency_ms");
    lua_pushinteger(L, o ? o->steps : 0);
    lua_setfield(L, -2, "steps");
    lua_setglobal(L, "usage");

    json_t *calls = o ? ev_output_calls_json(o) : json_array();
    push_json(L, calls);
    json_decref(calls);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_setglobal(L, "tool_calls");
    return 0;
}

static void grade_number(const ev_assert *a, double x, const char *reason, ev_aresult *r)
{
    int pass = a->has_threshold ? x >= a->threshold : x > 0;
    ev_result_set(r, pass ? EV_PASS : EV_FAIL, x, "lua returned score %g%s%s", x,
                  reason ? ": " : "", reason ? reason : "");
}

static void eval_lua(const ev_assert *a, const ev_subject *s, ev_aresult *r)
{
    const lua_code *lc = a->priv;
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&limits, &err);
    if (!sb) {
        ev_result_set(r, EV_ERROR, 0, "lua: %s", err.msg);
        return;
    }
    lua_State *L = sw_sandbox_state(sb);
    lua_pushcfunction(L, set_globals);
    lua_pushlightuserdata(L, (void *)s);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        ev_result_set(r, EV_ERROR, 0, "lua: the case does not fit in the memory limit");
        sw_sandbox_free(sb);
        return;
    }
    if (sw_sandbox_load(sb, lc->code, strlen(lc->code), &lc->at, &err) < 0 ||
        sw_sandbox_call(sb, 0, 2, &err) < 0) {
        ev_result_set(r, EV_ERROR, 0, "lua: %s", err.msg);
        sw_sandbox_free(sb);
        return;
    }
    const char *reason = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int t = lua_type(L, -2);
    if (t == LUA_TBOOLEAN) {
        int pass = lua_toboolean(L, -2);
        ev_result_set(r, pass ? EV_PASS : EV_FAIL, pass, "lua returned %s%s%s",
                      pass ? "true" : "false", reason ? ": " : "", reason ? reason : "");
    } else if (t == LUA_TNUMBER) {
        grade_number(a, lua_tonumber(L, -2), reason, r);
    } else if (t == LUA_TTABLE) {
        lua_getfield(L, -2, "pass");
        lua_getfield(L, -3, "score");
        lua_getfield(L, -4, "reason");
        const char *why = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : reason;
        int has_pass = lua_type(L, -3) == LUA_TBOOLEAN, has_score = lua_isnumber(L, -2);
        if (has_pass) {
            int pass = lua_toboolean(L, -3);
            double sc = has_score ? lua_tonumber(L, -2) : pass;
            ev_result_set(r, pass ? EV_PASS : EV_FAIL, sc, "lua: %s%s%s", pass ? "pass" : "fail",
                          why ? ": " : "", why ? why : "");
        } else if (has_score) {
            grade_number(a, lua_tonumber(L, -2), why, r);
        } else {
            ev_result_set(r, EV_ERROR, 0, "lua returned a table without pass or score");
        }
        lua_pop(L, 3);
    } else {
        ev_result_set(r, EV_ERROR, 0,
                      "lua returned %s; expected a boolean, a number or "
                      "{pass=, score=, reason=}",
                      lua_typename(L, t));
    }
    sw_sandbox_free(sb);
}

const ev_kind ev_kind_lua = {"lua", EV_K_NEGATABLE | EV_K_VALUE | EV_K_THRESHOLD, prepare_lua,
                             eval_lua, release_lua};
