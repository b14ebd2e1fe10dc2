/* lua_stage.c - `uses: lua`: run(ctx, cfg) from a script in a fresh sandbox.

   The timeout caps each of the two calls (the script's top level, then run);
   the top level normally only defines functions.

   The context is read only under the run's lock, and no Lua code runs while
   the lock is held (the view is built with raw table writes), so a script can
   neither stall other stages nor see a half-written context. */
#include "lua_stage.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "lua/sandbox.h"
#include "plugin/host.h"

#ifndef SLIPWAY_VERSION
#define SLIPWAY_VERSION "0.0.0"
#endif

#define MAX_SCRIPT_BYTES (16u * 1024u * 1024u)
#define MAX_MEMORY_MB    65536
#define VALUE_GUARD_META "slipway.value_guard"

typedef struct lua_config {
    const char *script;
    const char *code;
    const char *outputs; /* JSON: {"name": "type", ...} */
    int64_t timeout_ms;
    int64_t memory_mb;
} lua_config;

static const sw_param params[] = {
    {"script", SW_TYPE_STRING, SW_PARAM_PATH, NULL, offsetof(lua_config, script),
     "Lua file defining run(ctx, cfg), relative to the pipeline file (or give code)"},
    {"code", SW_TYPE_STRING, 0, NULL, offsetof(lua_config, code),
     "Inline Lua defining run(ctx, cfg) (or give script)"},
    {"outputs", SW_TYPE_JSON, 0, NULL, offsetof(lua_config, outputs),
     "The outputs run returns: a map of name to type (bool, int, double, string, json)"},
    {"timeout", SW_TYPE_INT, SW_PARAM_DURATION, "10s", offsetof(lua_config, timeout_ms),
     "Wall-time cap for the script"},
    {"memory_mb", SW_TYPE_INT, 0, "64", offsetof(lua_config, memory_mb),
     "Memory cap for the script's Lua state, in MiB"},
    {NULL, SW_TYPE_NULL, 0, NULL, 0, NULL},
};

/* Outputs are declared per stage in with.outputs; see sw_lua_stage_outputs. */
static const sw_port no_ports[] = {{NULL, SW_TYPE_NULL, 0, NULL}};

/* ---- output types ---- */

static const char *const type_words[] = {"bool", "int", "double", "float", "string", "json"};

/* sw_type_parse's names, plus float and integer; null and any are not output types. */
static int output_type(const char *name, sw_type *out)
{
    if (strcmp(name, "float") == 0) {
        *out = SW_TYPE_DOUBLE;
        return 0;
    }
    if (strcmp(name, "integer") == 0) {
        *out = SW_TYPE_INT;
        return 0;
    }
    if (sw_type_parse(name, out) < 0 || *out == SW_TYPE_NULL || *out == SW_TYPE_ANY)
        return -1;
    return 0;
}

static int identifier(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static void unknown_type(sw_diags *d, sw_pos pos, const char *type, const char *name)
{
    size_t n_words = sizeof type_words / sizeof type_words[0];
    const char *near = sw_did_you_mean(type, type_words, n_words);
    if (near)
        sw_diag_error(d, pos, "stage outputs: unknown type '%s' for '%s' (did you mean '%s'?)",
                      type, name, near);
    else
        sw_diag_error(d, pos,
                      "stage outputs: unknown type '%s' for '%s' (bool, int, double, string "
                      "or json)",
                      type, name);
}

int sw_lua_stage_outputs(const sw_ydoc *doc, const sw_ynode *with, sw_port **out, size_t *n,
                         sw_diags *d)
{
    *out = NULL;
    *n = 0;
    const sw_ynode *outputs =
        with && with->kind == SW_YAML_MAP ? sw_ynode_get(with, "outputs") : NULL;
    if (!outputs)
        return 0;
    if (outputs->kind != SW_YAML_MAP) {
        sw_diag_error(d, sw_ynode_pos(doc, outputs),
                      "stage outputs: expected a mapping of output names to types, got a %s",
                      sw_ynode_kind_name(outputs->kind));
        return -1;
    }
    sw_port *ports = sw_xcalloc(outputs->n + 1, sizeof *ports);
    size_t count = 0;
    int bad = 0;
    for (size_t i = 0; i < outputs->n; i++) {
        const sw_ynode *key = outputs->keys[i], *val = outputs->items[i];
        const char *name = key->text ? key->text : "";
        if (!identifier(name)) {
            sw_diag_error(d, sw_ynode_pos(doc, key),
                          "stage outputs: output name '%s' must be a Lua identifier "
                          "(letters, digits, _)",
                          name);
            bad = 1;
            continue;
        }
        if (val->kind != SW_YAML_SCALAR || !val->text) {
            sw_diag_error(d, sw_ynode_pos(doc, val),
                          "stage outputs: the type of '%s' must be a type name, got a %s", name,
                          sw_ynode_kind_name(val->kind));
            bad = 1;
            continue;
        }
        sw_type t;
        if (output_type(val->text, &t) < 0) {
            unknown_type(d, sw_ynode_pos(doc, val), val->text, name);
            bad = 1;
            continue;
        }
        ports[count++] = (sw_port){.name = sw_xstrdup(name), .type = t};
    }
    if (bad) {
        sw_lua_stage_outputs_free(ports, count);
        return -1;
    }
    *out = ports;
    *n = count;
    return 0;
}

void sw_lua_stage_outputs_free(sw_port *ports, size_t n)
{
    if (!ports)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)ports[i].name);
        free((char *)ports[i].description);
    }
    free(ports);
}

typedef struct output {
    const char *name; /* points into the parsed JSON */
    sw_type type;
    sw_value value;
    int given;
} output;

/* with.outputs as bound by the host (JSON text), checked again: the checker
   may not have run on this pipeline. */
static int parse_outputs(const char *text, json_t **doc, output **outs, size_t *n, sw_err *err)
{
    *doc = NULL;
    *outs = NULL;
    *n = 0;
    if (!text)
        return 0;
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return sw_err_set(err, "outputs: expected a mapping of output names to types");
    }
    output *o = sw_xcalloc(json_object_size(j) + 1, sizeof *o);
    size_t count = 0;
    const char *name;
    json_t *type;
    json_object_foreach(j, name, type)
    {
        sw_type t;
        if (!json_is_string(type) || output_type(json_string_value(type), &t) < 0) {
            sw_err_set(err, "outputs: '%s' has no valid type (bool, int, double, string or json)",
                       name);
            free(o);
            json_decref(j);
            return -1;
        }
        o[count++] = (output){.name = name, .type = t};
    }
    *doc = j;
    *outs = o;
    *n = count;
    return 0;
}

static void free_outputs(json_t *doc, output *outs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sw_value_free(&outs[i].value);
    free(outs);
    json_decref(doc);
}

static sw_status lua_init(sw_stage *stage, const void *config)
{
    const sw_host *host = sw_host_table();
    const lua_config *cfg = config;
    if (!cfg->script == !cfg->code)
        return host->error(stage, "give exactly one of 'script' and 'code'%s",
                           cfg->script ? " (both are set)" : "");
    if (cfg->timeout_ms <= 0)
        return host->error(stage, "timeout must be positive");
    if (cfg->memory_mb < 1 || cfg->memory_mb > MAX_MEMORY_MB)
        return host->error(stage, "memory_mb must be between 1 and %d, not %lld", MAX_MEMORY_MB,
                           (long long)cfg->memory_mb);
    sw_err err;
    json_t *doc;
    output *outs;
    size_t n;
    if (parse_outputs(cfg->outputs, &doc, &outs, &n, &err) < 0)
        return host->error(stage, "%s", err.msg);
    free_outputs(doc, outs, n);
    return SW_OK;
}

/* ---- the slipway table ---- */

static sw_stage *stage_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static int l_log(lua_State *L)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    static const sw_log_level map[] = {SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR};
    int level = luaL_checkoption(L, 1, NULL, levels);
    const char *msg = luaL_checkstring(L, 2);
    sw_host_table()->log(stage_of(L), map[level], "%s", msg);
    return 0;
}

static int value_guard_gc(lua_State *L)
{
    sw_value *v = lua_touserdata(L, 1);
    if (v)
        sw_value_free(v);
    return 0;
}

/* The value is copied under the lock into a userdata that frees it even when
   pushing it runs out of memory; the lock is never held across a Lua error. */
static int l_get(lua_State *L)
{
    sw_stage *stage = stage_of(L);
    const char *key = luaL_checkstring(L, 1);
    sw_value *copy = lua_newuserdatauv(L, sizeof *copy, 0);
    *copy = SW_VALUE_NULL;
    if (luaL_newmetatable(L, VALUE_GUARD_META)) {
        lua_pushcfunction(L, value_guard_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);

    const sw_context *ctx = sw_stage_lock_context(stage);
    const sw_value *v = ctx ? sw_context_get(ctx, key) : NULL;
    /* Secrets stay out of Lua, as they stay out of gates. */
    if (v && !(sw_context_flags(ctx, key) & SW_CTX_SECRET))
        *copy = sw_value_copy(v);
    sw_stage_unlock_context(stage);

    sw_sandbox_push_value(L, copy);
    sw_value_free(copy);
    return 1;
}

static int l_progress(lua_State *L)
{
    double fraction = luaL_checknumber(L, 1);
    const char *note = luaL_optstring(L, 2, NULL);
    sw_host_table()->progress(stage_of(L), fraction, note);
    return 0;
}

static int l_cancelled(lua_State *L)
{
    lua_pushboolean(L, sw_host_table()->cancelled(stage_of(L)) != 0);
    return 1;
}

/* Protected: (stage) -> sets the global `slipway`. */
static int install_slipway(lua_State *L)
{
    static const luaL_Reg fns[] = {{"log", l_log},
                                   {"get", l_get},
                                   {"progress", l_progress},
                                   {"cancelled", l_cancelled},
                                   {NULL, NULL}};
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 1);
    luaL_setfuncs(L, fns, 1);
    lua_pushglobaltable(L);
    lua_pushliteral(L, "slipway");
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    return 0;
}

/* Protected: (stage, ctx, cfg) -> run, ctx view, cfg table. Runs no Lua code,
   since the caller holds the context lock. */
static int prepare_call(lua_State *L)
{
    const sw_context *ctx = lua_touserdata(L, 2);
    const lua_config *cfg = lua_touserdata(L, 3);
    lua_settop(L, 3);

    lua_pushglobaltable(L); /* 4: G */
    lua_pushliteral(L, "run");
    lua_rawget(L, 4); /* 5: run */

    /* The view is what push_context_globals writes into the global table, so
       point the registry's globals at a fresh table while it does. The caller
       restores them should this fail halfway. */
    lua_newtable(L); /* 6: ctx */
    lua_pushvalue(L, 6);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    sw_sandbox_push_context_globals(L, ctx);
    lua_pushvalue(L, 4);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

    lua_createtable(L, 0, 5); /* 7: cfg */
    if (cfg->script) {
        lua_pushstring(L, cfg->script);
        lua_setfield(L, 7, "script");
    }
    if (cfg->code) {
        lua_pushstring(L, cfg->code);
        lua_setfield(L, 7, "code");
    }
    if (cfg->outputs) {
        sw_value outputs = {.type = SW_TYPE_JSON, .as.s = (char *)cfg->outputs};
        sw_sandbox_push_value(L, &outputs);
        lua_setfield(L, 7, "outputs");
    }
    lua_pushinteger(L, (lua_Integer)cfg->timeout_ms);
    lua_setfield(L, 7, "timeout");
    lua_pushinteger(L, (lua_Integer)cfg->memory_mb);
    lua_setfield(L, 7, "memory_mb");
    return 3;
}

/* ---- run ---- */

/* The script as the pipeline names it: the host resolved it against the
   pipeline's folder, which is taken off again for messages. */
/* A path the pipeline resolved, as the user would name it: under the pipeline
   file's folder as they named that file. Caller frees. */
static char *shown_path(sw_stage *stage, const char *path)
{
    const char *dir = sw_stage_pipeline_dir(stage), *file = sw_stage_pipeline_file(stage);
    size_t n = dir ? strlen(dir) : 0;
    if (!n || strncmp(path, dir, n) != 0 || path[n] != '/')
        return sw_xstrdup(path);
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (!slash)
        return sw_xstrdup(path + n + 1);
    return sw_xasprintf("%.*s/%s", (int)(slash - file), file, path + n + 1);
}

/* The returned table's fields, matched against the declared outputs. Reads
   only (lua_next, raw), so nothing here can raise. */
static int collect_outputs(lua_State *L, int idx, output *outs, size_t n, sw_err *err)
{
    if (!lua_checkstack(L, 3))
        return sw_err_set(err, "lua: stack overflow");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            int kt = lua_type(L, -2);
            lua_pop(L, 2);
            return sw_err_set(err,
                              "run returned a table with a %s key; outputs are named by "
                              "strings",
                              lua_typename(L, kt));
        }
        const char *name = lua_tostring(L, -2);
        output *o = NULL;
        for (size_t i = 0; i < n && !o; i++)
            if (strcmp(outs[i].name, name) == 0)
                o = &outs[i];
        if (!o) {
            sw_err_set(err, "run returned output '%s', which with.outputs does not declare", name);
            lua_pop(L, 2);
            return -1;
        }
        if (sw_sandbox_to_value(L, -1, &o->value, err) < 0) {
            sw_err_prefix(err, "output '%s': ", name);
            lua_pop(L, 2);
            return -1;
        }
        if (o->type == SW_TYPE_DOUBLE && o->value.type == SW_TYPE_INT)
            o->value = sw_value_double((double)o->value.as.i);
        o->given = 1;
        lua_pop(L, 1);
    }
    return 0;
}

static sw_status finish(sw_stage *stage, lua_State *L, output *outs, size_t n)
{
    const sw_host *host = sw_host_table();
    sw_err err;
    int t = lua_type(L, -2);
    if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -2))) {
        if (lua_type(L, -1) == LUA_TSTRING)
            return host->fail(stage, "%s", lua_tostring(L, -1));
        return host->fail(stage, "run returned %s without a reason",
                          t == LUA_TNIL ? "nil" : "false");
    }
    if (t != LUA_TTABLE)
        return host->error(stage,
                           "run must return a table of outputs (or nil and a reason), got "
                           "a %s",
                           lua_typename(L, t));
    if (collect_outputs(L, lua_absindex(L, -2), outs, n, &err) < 0)
        return host->error(stage, "%s", err.msg);
    /* In declaration order, so the journal reads the same every run. An output
       not returned is null, the host's "no value". */
    for (size_t i = 0; i < n; i++) {
        if (sw_stage_set_value(stage, outs[i].name, &outs[i].value) != SW_OK)
            return host->error(stage, "%s", host->last_error(stage));
    }
    return SW_OK;
}

static int stage_cancelled(void *stage)
{
    return sw_host_table()->cancelled(stage);
}

static sw_status lua_run(sw_stage *stage, const void *config)
{
    const sw_host *host = sw_host_table();
    const lua_config *cfg = config;
    sw_err err;
    json_t *outs_doc;
    output *outs;
    size_t n_outs;
    if (parse_outputs(cfg->outputs, &outs_doc, &outs, &n_outs, &err) < 0)
        return host->error(stage, "%s", err.msg);

    sw_status status = SW_ERROR;
    char *text = NULL, *shown = NULL;
    sw_lua_limits limits = {.memory_bytes = (size_t)cfg->memory_mb * 1024u * 1024u,
                            .max_steps = UINT64_MAX,
                            .timeout_ms = cfg->timeout_ms};
    sw_sandbox *sb = sw_sandbox_new(&limits, &err);
    if (!sb) {
        status = host->error(stage, "%s", err.msg);
        goto done;
    }
    sw_sandbox_set_interrupt(sb, stage_cancelled, stage);
    lua_State *L = sw_sandbox_state(sb);

    size_t len;
    sw_origin origin;
    if (cfg->script) {
        text = sw_read_file(cfg->script, MAX_SCRIPT_BYTES, &len, &err);
        if (!text) {
            status = host->error(stage, "script: %s", err.msg);
            goto done;
        }
        shown = shown_path(stage, cfg->script);
        origin = (sw_origin){shown, 1, 1, 1};
    } else {
        text = sw_xstrdup(cfg->code);
        len = strlen(text);
        if (host->param_origin(stage, "code", &origin) != SW_OK)
            origin = (sw_origin){host->stage_id(stage), 1, 0, 1};
    }

    lua_pushcfunction(L, install_slipway);
    lua_pushlightuserdata(L, stage);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        status = host->error(stage, "memory limit of %lld MiB exceeded before the script ran",
                             (long long)cfg->memory_mb);
        goto done;
    }
    if (sw_sandbox_load(sb, text, len, &origin, &err) < 0 || sw_sandbox_call(sb, 0, 0, &err) < 0) {
        status = host->error(stage, "%s", err.msg);
        goto done;
    }

    lua_pushglobaltable(L);
    int globals = lua_gettop(L);
    lua_pushcfunction(L, prepare_call);
    lua_pushlightuserdata(L, stage);
    const sw_context *ctx = sw_stage_lock_context(stage);
    lua_pushlightuserdata(L, (void *)ctx);
    lua_pushlightuserdata(L, (void *)cfg);
    int rc = lua_pcall(L, 3, 3, 0);
    sw_stage_unlock_context(stage);
    lua_pushvalue(L, globals);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    if (rc != LUA_OK) {
        status = host->error(stage, "memory limit of %lld MiB exceeded reading the context",
                             (long long)cfg->memory_mb);
        goto done;
    }
    if (lua_type(L, -3) != LUA_TFUNCTION) {
        status = host->error(stage, "%s:%d: the code does not define a function run(ctx, cfg)",
                             origin.file, origin.line);
        goto done;
    }

    if (sw_sandbox_call(sb, 2, 2, &err) < 0) {
        status = host->error(stage, "%s", err.msg);
        goto done;
    }
    status = finish(stage, L, outs, n_outs);

done:
    sw_sandbox_free(sb);
    free(text);
    free(shown);
    free_outputs(outs_doc, outs, n_outs);
    return status;
}

static const sw_stage_desc lua_desc = {
    SW_ABI_INIT(sw_stage_desc),
    .name = "lua",
    .version = SLIPWAY_VERSION,
    .summary = "A stage written in Lua, run in the sandbox",
    .params = params,
    .config_size = sizeof(lua_config),
    .inputs = no_ports,
    .outputs = no_ports,
    .init = lua_init,
    .run = lua_run,
    .fini = NULL,
};

const sw_stage_desc *sw_lua_stage_desc(void)
{
    return &lua_desc;
}
