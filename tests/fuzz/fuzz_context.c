/*
 * fuzz_context.c - checkpoint JSON into a typed context and back.
 *
 * Whatever a checkpoint file holds, a context read from it writes out as JSON
 * that reads back into the same context: text -> from_json -> to_json (A) ->
 * from_json -> to_json (B), and A and B must be the same bytes.
 */
#include "fuzz_util.h"
#include "lua/sandbox.h"
#include "model/context.h"

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();
    return s;
}

/* Protected: every value of the context (upvalue-free: light userdata arg) into
   Lua and back, as gates and Lua stages see them. */
static int through_lua(lua_State *L)
{
    const sw_context *ctx = lua_touserdata(L, 1);
    for (size_t i = 0; i < sw_context_count(ctx); i++) {
        sw_sandbox_push_value(L, sw_context_value_at(ctx, i));
        sw_value back;
        sw_err err;
        if (sw_sandbox_to_value(L, -1, &back, &err) == 0)
            sw_value_free(&back);
        lua_pop(L, 1);
        char *text = sw_value_to_text(sw_context_value_at(ctx, i));
        free(text);
    }
    sw_sandbox_push_context_globals(L, ctx);
    return 0;
}

static void check_lua(const sw_context *ctx)
{
    sw_lua_limits lim = {.memory_bytes = 64u << 20};
    sw_err err;
    sw_sandbox *sb = sw_sandbox_new(&lim, &err);
    if (!sb)
        abort();
    lua_State *L = sw_sandbox_state(sb);
    lua_pushcfunction(L, through_lua);
    lua_pushlightuserdata(L, (void *)ctx);
    lua_pcall(L, 1, 0, 0); /* a memory error is a fine outcome */
    sw_sandbox_free(sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return 0;
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, 0, &jerr);
    if (!in)
        return 0;
    sw_err err = {{0}};
    sw_context *ctx = sw_context_from_json(in, &err);
    json_decref(in);
    if (!ctx) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    json_t *a = sw_context_to_json(ctx);
    char *ta = dump(a);
    sw_context *again = sw_context_from_json(a, &err);
    if (!again) {
        fprintf(stderr, "checkpoint written does not read back: %s\n%s\n", err.msg, ta);
        abort();
    }
    json_t *b = sw_context_to_json(again);
    char *tb = dump(b);
    if (strcmp(ta, tb) != 0) {
        fprintf(stderr, "round trip differs:\n%s\n%s\n", ta, tb);
        abort();
    }
    if (sw_context_count(ctx) != sw_context_count(again))
        abort();
    for (size_t i = 0; i < sw_context_count(ctx); i++)
        if (sw_context_value_at(ctx, i)->type != sw_context_value_at(again, i)->type)
            abort();
    check_lua(ctx);
    free(ta);
    free(tb);
    json_decref(a);
    json_decref(b);
    sw_context_free(ctx);
    sw_context_free(again);
    return 0;
}
