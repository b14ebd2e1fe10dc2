/* gate.c - a compiled Lua condition evaluated over the context, many times.

   The gate keeps one sandbox. Its function's _ENV is an empty table E whose
   lookups fall through to a view V of the context (one table per owner), and
   from there to the sandbox's globals. V is rebuilt only when the context (its
   pointer or generation) changed since the last evaluation, which is what makes
   an evaluation cost about one pcall.

   What a gate writes does not reach the next evaluation's inputs in a way the
   context does not: a global it assigns lands in E, and E is replaced after any
   evaluation that left something in it. Fields a gate writes into the owner
   tables (golden.x = 1) last until the context next changes. Gates are meant
   to be pure expressions; nothing relies on either. */
#include "gate.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"

/* Fixed slots on the gate state's main stack. */
enum { SLOT_FN = 1, SLOT_GLOBALS, SLOT_ENV, SLOT_ENV_META, SLOT_COUNT = SLOT_ENV_META };

struct sw_gate {
    sw_sandbox *sb;
    char *expr; /* the source when it is one expression: what a reason is made from */
    int have_view;
    const sw_context *view_ctx;
    unsigned long long view_gen;
};

static void set_env(lua_State *L)
{
    lua_pushvalue(L, SLOT_ENV);
    lua_setupvalue(L, SLOT_FN, 1);
}

/* Protected: (ctx, G) -> E, M. push_context_globals fills whatever the global
   table is, so the registry's globals point at the new view while it runs. */
static int make_view(lua_State *L)
{
    const sw_context *ctx = lua_touserdata(L, 1);
    lua_newtable(L); /* V */
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    sw_sandbox_push_context_globals(L, ctx);
    lua_pushvalue(L, 2);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    lua_createtable(L, 0, 1); /* V's metatable: the sandbox's globals */
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);

    lua_newtable(L);          /* E */
    lua_createtable(L, 0, 2); /* M */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -3);
    return 2;
}

/* Protected: (M) -> a fresh E. */
static int make_env(lua_State *L)
{
    lua_newtable(L);
    lua_pushvalue(L, 1);
    lua_setmetatable(L, -2);
    return 1;
}

static int rebuild_view(sw_gate *g, const sw_context *ctx, sw_err *err)
{
    lua_State *L = sw_sandbox_state(g->sb);
    lua_pushcfunction(L, make_view);
    lua_pushlightuserdata(L, (void *)ctx);
    lua_pushvalue(L, SLOT_GLOBALS);
    int status = lua_pcall(L, 2, 2, 0);
    /* make_view may have stopped with the view installed as the globals. */
    lua_pushvalue(L, SLOT_GLOBALS);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    if (status != LUA_OK) {
        lua_pop(L, 1);
        g->have_view = 0;
        return sw_err_set(err, "gate: the context does not fit in the gate's memory limit");
    }
    lua_replace(L, SLOT_ENV_META);
    lua_replace(L, SLOT_ENV);
    set_env(L);
    g->have_view = 1;
    g->view_ctx = ctx;
    g->view_gen = ctx ? sw_context_generation(ctx) : 0;
    return 0;
}

/* A global the gate assigned is dropped with its E. */
static void drop_written_globals(sw_gate *g)
{
    lua_State *L = sw_sandbox_state(g->sb);
    lua_pushnil(L);
    if (!lua_next(L, SLOT_ENV))
        return;
    lua_pop(L, 2);
    lua_pushcfunction(L, make_env);
    lua_pushvalue(L, SLOT_ENV_META);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        g->have_view = 0; /* rebuilt (or failed cleanly) next time */
        return;
    }
    lua_replace(L, SLOT_ENV);
    set_env(L);
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

sw_gate *sw_gate_compile(const char *source, const sw_origin *origin, const sw_lua_limits *limits,
                         sw_err *err)
{
    if (!source || blank(source)) {
        sw_err_set(err, "%s:%d: the gate is empty", origin && origin->file ? origin->file : "gate",
                   origin && origin->line > 0 ? origin->line : 1);
        return NULL;
    }
    sw_sandbox *sb = sw_sandbox_new(limits, err);
    if (!sb)
        return NULL;
    lua_State *L = sw_sandbox_state(sb);
    if (!lua_checkstack(L, SLOT_COUNT + 8)) {
        sw_sandbox_free(sb);
        sw_err_set(err, "gate: lua stack overflow");
        return NULL;
    }
    /* An expression first; a chunk with its own `return` otherwise, whose
       errors are the ones worth showing. */
    char *expr = sw_xasprintf("return %s", source);
    int rc = sw_sandbox_load(sb, expr, strlen(expr), origin, NULL);
    free(expr);
    if (rc < 0 && sw_sandbox_load(sb, source, strlen(source), origin, err) < 0) {
        sw_sandbox_free(sb);
        return NULL;
    }
    lua_pushglobaltable(L); /* SLOT_GLOBALS */
    lua_pushnil(L);         /* SLOT_ENV */
    lua_pushnil(L);         /* SLOT_ENV_META */
    sw_gate *g = sw_xcalloc(1, sizeof *g);
    g->sb = sb;
    if (rc == 0)
        g->expr = sw_xstrdup(source);
    return g;
}

sw_origin sw_gate_param_origin(const sw_host *host, sw_stage *stage, const char *name)
{
    sw_origin o;
    if (SW_HAS_FIELD(host, sw_host, param_origin) && host->param_origin(stage, name, &o) == SW_OK)
        return o;
    return (sw_origin){name, 1, 0, 1};
}

void sw_gate_free(sw_gate *gate)
{
    if (!gate)
        return;
    sw_sandbox_free(gate->sb);
    free(gate->expr);
    free(gate);
}

/* The Lua message without the traceback the sandbox appends. */
static char *error_line(const char *msg)
{
    const char *tb = strstr(msg, "\nstack traceback:");
    return tb ? sw_xstrndup(msg, (size_t)(tb - msg)) : sw_xstrdup(msg);
}

/* sw_explain_eval: one operand of the gate, in the environment the gate ran in,
   under the same caps. The text is the gate's own, already compiled once. */
static int eval_operand(void *ud, const char *text, size_t len, char **shown)
{
    sw_gate *g = ud;
    lua_State *L = sw_sandbox_state(g->sb);
    if (!lua_checkstack(L, 3))
        return -1;
    char *code = sw_xasprintf("return %.*s", (int)len, text);
    int rc = luaL_loadbufferx(L, code, strlen(code), "=gate", "t");
    free(code);
    if (rc != LUA_OK) {
        lua_pop(L, 1);
        return -1;
    }
    lua_pushvalue(L, SLOT_ENV);
    lua_setupvalue(L, -2, 1);
    sw_err err;
    if (sw_sandbox_call(g->sb, 0, 1, &err) < 0)
        return -1;
    *shown = sw_explain_value(L, -1);
    int truth = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return truth;
}

/* Why the gate said no without saying why: made from its expression. */
static char *made_reason(sw_gate *g, int returned_nil)
{
    char *why = g->expr ? sw_explain_false(g->expr, eval_operand, g) : NULL;
    return why ? why : sw_xstrdup(returned_nil ? "gate returned nil" : "gate returned false");
}

sw_gate_result sw_gate_eval(sw_gate *gate, const sw_context *ctx, char **reason)
{
    sw_err err;
    *reason = NULL;
    lua_State *L = sw_sandbox_state(gate->sb);
    if (!gate->have_view || gate->view_ctx != ctx ||
        (ctx && gate->view_gen != sw_context_generation(ctx))) {
        if (rebuild_view(gate, ctx, &err) < 0) {
            *reason = sw_xstrdup(err.msg);
            return SW_GATE_ERROR;
        }
    }
    lua_pushvalue(L, SLOT_FN);
    if (sw_sandbox_call(gate->sb, 0, 2, &err) < 0) {
        *reason = error_line(err.msg);
        drop_written_globals(gate);
        return SW_GATE_ERROR;
    }
    sw_gate_result result;
    int t = lua_type(L, -2);
    if (t == LUA_TBOOLEAN && lua_toboolean(L, -2)) {
        result = SW_GATE_PASS;
    } else if (t == LUA_TBOOLEAN || t == LUA_TNIL) {
        result = SW_GATE_FAIL;
        if (lua_type(L, -1) == LUA_TSTRING)
            *reason = sw_xstrdup(lua_tostring(L, -1));
        else
            *reason = made_reason(gate, t == LUA_TNIL);
    } else {
        result = SW_GATE_ERROR;
        *reason = sw_xasprintf("gate must return a boolean, got %s", lua_typename(L, t));
    }
    lua_pop(L, 2);
    drop_written_globals(gate);
    return result;
}
