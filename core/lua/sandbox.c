/* sandbox.c - a capped Lua 5.4 state: counting allocator, instruction/time hook,
   a trimmed base library, text-only chunks, and conversions to typed values.

   Besides the libraries sandbox.h names, coroutine is opened: it reaches
   nothing outside the state, and coroutines inherit the hook, so the caps hold
   inside them too (with the guards below, once one thread breaches a cap,
   every thread stops). */
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source_map.h"

#define DEFAULT_MEMORY     (32u * 1024u * 1024u)
#define DEFAULT_STEPS      50000000ull
#define DEFAULT_TIMEOUT_MS 1000
#define HOOK_EVERY         1000
#define MAX_DEPTH          64

enum breach { BREACH_NONE = 0, BREACH_STEPS, BREACH_TIME, BREACH_INTERRUPT };

struct sw_sandbox {
    lua_State *L;
    size_t mem_used, mem_cap;
    int mem_refused; /* the allocator said no during the current call */
    uint64_t max_steps, steps;
    int64_t timeout_ms;
    double deadline;
    int armed;
    enum breach breached;
    char limit_msg[96];
    int (*interrupt)(void *ud);
    void *interrupt_ud;
    sw_source_map *map; /* of the chunk loaded last */
};

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sw_sandbox *sb = ud;
    /* With ptr NULL, osize is a type tag, not a size. */
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    /* Lua assumes shrinking never fails, so only growth is refused. */
    if (nsize > old && nsize - old > sb->mem_cap - sb->mem_used) {
        sb->mem_refused = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (!p)
        return NULL;
    sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

static sw_sandbox *sandbox_of(lua_State *L)
{
    return *(sw_sandbox **)lua_getextraspace(L);
}

static void hook_count(lua_State *L, lua_Debug *ar)
{
    sw_sandbox *sb = sandbox_of(L);
    if (!sb->armed)
        return;
    if (sb->breached == BREACH_NONE) {
        sb->steps += (uint64_t)lua_gethookcount(L);
        if (sb->steps > sb->max_steps) {
            sb->breached = BREACH_STEPS;
            snprintf(sb->limit_msg, sizeof sb->limit_msg, "instruction limit of %llu exceeded",
                     (unsigned long long)sb->max_steps);
        } else if (sw_now_ms() > sb->deadline) {
            sb->breached = BREACH_TIME;
            snprintf(sb->limit_msg, sizeof sb->limit_msg, "time limit of %lld ms exceeded",
                     (long long)sb->timeout_ms);
        } else if (sb->interrupt && sb->interrupt(sb->interrupt_ud)) {
            sb->breached = BREACH_INTERRUPT;
            snprintf(sb->limit_msg, sizeof sb->limit_msg, "interrupted: the stage was cancelled");
        } else {
            return;
        }
    }
    /* Once over a cap, fail on every instruction: a pcall in the user's code may
       catch one error, but the code after it cannot run either, so the error
       climbs to our own pcall. */
    lua_sethook(L, hook_count, LUA_MASKCOUNT, 1);
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
        luaL_error(L, "%s:%d: %s", ar->short_src, ar->currentline, sb->limit_msg);
    luaL_error(L, "%s", sb->limit_msg);
}

static int hook_every(const sw_sandbox *sb)
{
    return sb->max_steps < HOOK_EVERY ? (int)(sb->max_steps ? sb->max_steps : 1) : HOOK_EVERY;
}

/*
 * Hooks and their counters belong to each thread. The hook that detects a
 * breach makes its own thread fail on every instruction, but a coroutine's
 * resumer still had up to HOOK_EVERY instructions left on its own counter,
 * and a coroutine it created after the breach started with a fresh one: code
 * that caught the error and kept spawning coroutines, each spawning more,
 * could run without end past every cap. So once a cap is breached, no
 * coroutine may be created, resumed or closed, the error is raised in the
 * resumer as soon as a resume returns, and the resumer's thread too fails on
 * every instruction from then on.
 */
static void check_breach(lua_State *L)
{
    sw_sandbox *sb = sandbox_of(L);
    if (!sb->armed || sb->breached == BREACH_NONE)
        return;
    lua_sethook(L, hook_count, LUA_MASKCOUNT, 1);
    luaL_error(L, "%s", sb->limit_msg);
}

/* coroutine.create, resume, close and running with the breach checked before
   and after: upvalue 1 is the library's function. None of them yields the
   calling thread, so a plain lua_call is enough. */
static int co_guarded(lua_State *L)
{
    check_breach(L);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    check_breach(L);
    return lua_gettop(L);
}

/* The function coroutine.wrap returns, guarded the same way; upvalue 1 is the
   library's. It raises the coroutine's errors, so the check after it runs in
   protected mode; the error is raised again unchanged. */
static int co_wrapped_call(lua_State *L)
{
    check_breach(L);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    int status = lua_pcall(L, n, LUA_MULTRET, 0);
    check_breach(L);
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

static int co_wrap(lua_State *L)
{
    check_breach(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    lua_pushcclosure(L, co_wrapped_call, 1);
    return 1;
}

static void guard_coroutines(lua_State *L)
{
    static const char *const guarded[] = {"create", "resume", "close"};
    lua_getglobal(L, LUA_COLIBNAME);
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++) {
        lua_getfield(L, -1, guarded[i]);
        lua_pushcclosure(L, co_guarded, 1);
        lua_setfield(L, -2, guarded[i]);
    }
    lua_getfield(L, -1, "wrap");
    lua_pushcclosure(L, co_wrap, 1);
    lua_setfield(L, -2, "wrap");
    lua_pop(L, 1);
}

/* Finalizers could run Lua code at any GC step, also between calls when no cap
   is armed (and at lua_close), so tables may not get a __gc metamethod. */
static int safe_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "__gc metamethods are not allowed in the sandbox");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* Lua calls a message handler before unwinding, and an error raised by the
   hook is still inside the hook, where hooks are off: a looping handler would
   then run uncapped. So xpcall runs its handler after the unwinding, like a
   pcall followed by a call. Without the debug library a handler cannot tell
   the difference. */
static int xpcall_finish(lua_State *L, int status, lua_KContext extra)
{
    if (status == LUA_OK || status == LUA_YIELD)
        return lua_gettop(L) - (int)extra;
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_pcall(L, 1, 1, 0);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

static int safe_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 0, 2, xpcall_finish);
    return xpcall_finish(L, status, 2);
}

static int open_libs(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {LUA_COLIBNAME, luaopen_coroutine},
    };
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        luaL_requiref(L, libs[i].name, libs[i].func, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {"load",  "loadfile", "dofile",        "require",
                                          "print", "warn",     "collectgarbage"};
    lua_pushglobaltable(L);
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, removed[i]);
    }
    lua_pushcfunction(L, safe_xpcall);
    lua_setfield(L, -2, "xpcall");
    lua_getfield(L, -1, "setmetatable");
    lua_pushcclosure(L, safe_setmetatable, 1);
    lua_setfield(L, -2, "setmetatable");
    lua_pop(L, 1);

    guard_coroutines(L);

    /* string.dump makes bytecode, which must never exist in here. */
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);

    /* getmetatable("") would hand out the string metatable; hide it. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

static void apply_limits(sw_sandbox *sb, const sw_lua_limits *limits)
{
    sb->mem_cap = limits && limits->memory_bytes ? limits->memory_bytes : DEFAULT_MEMORY;
    sb->max_steps = limits && limits->max_steps ? limits->max_steps : DEFAULT_STEPS;
    sb->timeout_ms = limits && limits->timeout_ms > 0 ? limits->timeout_ms : DEFAULT_TIMEOUT_MS;
}

sw_sandbox *sw_sandbox_new(const sw_lua_limits *limits, sw_err *err)
{
    sw_sandbox *sb = sw_xcalloc(1, sizeof *sb);
    apply_limits(sb, limits);
    sb->L = lua_newstate(counting_alloc, sb);
    if (!sb->L) {
        free(sb);
        sw_err_set(err, "lua: cannot create a state within the memory limit of %zu bytes",
                   limits && limits->memory_bytes ? limits->memory_bytes : DEFAULT_MEMORY);
        return NULL;
    }
    *(sw_sandbox **)lua_getextraspace(sb->L) = sb;
    lua_sethook(sb->L, hook_count, LUA_MASKCOUNT, hook_every(sb));
    lua_pushcfunction(sb->L, open_libs);
    if (lua_pcall(sb->L, 0, 0, 0) != LUA_OK) {
        sw_err_set(err, "lua: cannot open the libraries within the memory limit of %zu bytes",
                   sb->mem_cap);
        sw_sandbox_free(sb);
        return NULL;
    }
    return sb;
}

void sw_sandbox_free(sw_sandbox *sb)
{
    if (!sb)
        return;
    lua_close(sb->L);
    sw_source_map_free(sb->map);
    free(sb);
}

lua_State *sw_sandbox_state(sw_sandbox *sb)
{
    return sb->L;
}

void sw_sandbox_set_interrupt(sw_sandbox *sb, int (*interrupt)(void *ud), void *ud)
{
    sb->interrupt = interrupt;
    sb->interrupt_ud = ud;
}

void sw_sandbox_set_timeout(sw_sandbox *sb, int64_t timeout_ms)
{
    sb->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
}

typedef struct reader {
    const char *code;
    size_t len;
    int done;
} reader;

static const char *read_chunk(lua_State *L, void *ud, size_t *size)
{
    reader *r = ud;
    (void)L;
    if (!r->done) {
        r->done = 1;
        *size = r->len;
        return r->code;
    }
    *size = 0;
    return NULL;
}

/* err = msg with Lua's positions as the user's file's. */
static int set_mapped(const sw_sandbox *sb, sw_err *err, const char *msg)
{
    char *mapped = sw_source_map_rewrite(sb->map, msg);
    sw_err_set(err, "%s", mapped);
    free(mapped);
    return -1;
}

static void memory_message(sw_sandbox *sb, sw_err *err)
{
    sw_err_set(err, "memory limit of %zu bytes exceeded", sb->mem_cap);
}

int sw_sandbox_load(sw_sandbox *sb, const char *code, size_t len, const sw_origin *origin,
                    sw_err *err)
{
    sw_source_map_free(sb->map);
    sb->map = sw_source_map_new(code, len, origin);
    if (len > 0 && code[0] == LUA_SIGNATURE[0])
        return sw_err_set(err, "%s: refusing a binary (precompiled) chunk: only text is loaded",
                          sw_source_map_file(sb->map));
    if (!lua_checkstack(sb->L, 2))
        return sw_err_set(err, "lua: stack overflow");
    reader r = {.code = code, .len = len};
    sb->mem_refused = 0;
    int status = lua_load(sb->L, read_chunk, &r, SW_SOURCE_MAP_CHUNKNAME, "t");
    if (status == LUA_OK)
        return 0;
    if (status == LUA_ERRMEM)
        memory_message(sb, err);
    else
        set_mapped(sb, err, lua_tostring(sb->L, -1) ? lua_tostring(sb->L, -1) : "load failed");
    lua_pop(sb->L, 1);
    return -1;
}

const char *sw_sandbox_file(const sw_sandbox *sb)
{
    return sw_source_map_file(sb->map);
}

/* Message handler: the error text first, the traceback after a newline. It
   runs no user code (no __tostring), so it cannot be made to loop. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int sw_sandbox_call(sw_sandbox *sb, int nargs, int nresults, sw_err *err)
{
    lua_State *L = sb->L;
    if (!lua_checkstack(L, 1)) {
        lua_pop(L, nargs + 1);
        return sw_err_set(err, "lua: stack overflow");
    }
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);

    if (sb->breached != BREACH_NONE)
        lua_sethook(L, hook_count, LUA_MASKCOUNT, hook_every(sb));
    sb->breached = BREACH_NONE;
    sb->steps = 0;
    sb->mem_refused = 0;
    sb->deadline = sw_now_ms() + (double)sb->timeout_ms;
    int was_armed = sb->armed;
    sb->armed = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    sb->armed = was_armed;

    if (status == LUA_OK) {
        lua_remove(L, base);
        return 0;
    }
    const char *msg = lua_tostring(L, -1);
    if (status == LUA_ERRMEM || (status == LUA_ERRERR && sb->mem_refused)) {
        memory_message(sb, err);
    } else if (sb->breached != BREACH_NONE && (!msg || !strstr(msg, sb->limit_msg))) {
        /* The user's code caught the cap's error and raised another; the cap is the cause. */
        sw_err_set(err, "%s", sb->limit_msg);
    } else if (msg && sb->mem_refused && strstr(msg, "not enough memory")) {
        /* Caught by a pcall in the script and raised again as a plain error. */
        memory_message(sb, err);
    } else {
        set_mapped(sb, err, msg ? msg : "unknown Lua error");
    }
    lua_pop(L, 2);
    return -1;
}

/* ---- values ---- */

static void push_json(lua_State *L, const json_t *j)
{
    luaL_checkstack(L, 3, "JSON value too deep");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(j));
        const char *k;
        const json_t *item;
        json_object_foreach((json_t *)j, k, item)
        {
            if (json_is_null(item))
                continue;
            push_json(L, item);
            lua_setfield(L, -2, k);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        lua_createtable(L, (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            const json_t *item = json_array_get(j, i);
            if (json_is_null(item))
                continue;
            push_json(L, item);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    case JSON_NULL:
        lua_pushnil(L);
        break;
    }
}

#define GUARD_META "slipway.json_guard"

static int guard_gc(lua_State *L)
{
    json_t **guard = lua_touserdata(L, 1);
    if (guard && *guard) {
        json_decref(*guard);
        *guard = NULL;
    }
    return 0;
}

/* Raises a Lua error when memory runs out: call in protected mode. */
void sw_sandbox_push_value(lua_State *L, const sw_value *v)
{
    if (!v) {
        lua_pushnil(L);
        return;
    }
    switch (v->type) {
    case SW_TYPE_BOOL:
        lua_pushboolean(L, v->as.b);
        break;
    case SW_TYPE_INT:
        lua_pushinteger(L, (lua_Integer)v->as.i);
        break;
    case SW_TYPE_DOUBLE:
        lua_pushnumber(L, v->as.d);
        break;
    case SW_TYPE_STRING:
        lua_pushstring(L, v->as.s ? v->as.s : "");
        break;
    case SW_TYPE_JSON: {
        json_t *j = v->as.s ? json_loads(v->as.s, JSON_DECODE_ANY, NULL) : NULL;
        if (!j) {
            lua_pushnil(L);
            break;
        }
        /* A memory error while building would unwind past json_decref; the guard's
           __gc frees the document then. */
        json_t **guard = lua_newuserdatauv(L, sizeof *guard, 0);
        *guard = j;
        if (luaL_newmetatable(L, GUARD_META)) {
            lua_pushcfunction(L, guard_gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_setmetatable(L, -2);
        push_json(L, j);
        json_decref(j);
        *guard = NULL;
        lua_remove(L, -2);
        break;
    }
    case SW_TYPE_NULL:
    case SW_TYPE_ANY:
    default:
        lua_pushnil(L);
        break;
    }
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static int check_text(const char *s, size_t n, sw_err *err)
{
    if (memchr(s, '\0', n))
        return sw_err_set(err, "a string with a NUL byte cannot be a value");
    if (!utf8_valid((const unsigned char *)s, n))
        return sw_err_set(err, "a string that is not valid UTF-8 cannot be a value");
    return 0;
}

static json_t *table_to_json(lua_State *L, int idx, int depth, const void **path, sw_err *err);

/* The JSON form of the Lua value at idx (absolute), inside a table. */
static json_t *item_to_json(lua_State *L, int idx, int depth, const void **path, sw_err *err)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx))) {
            sw_err_set(err, "%s has no JSON form", isnan(lua_tonumber(L, idx)) ? "nan" : "inf");
            return NULL;
        }
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (check_text(s, n, err) < 0)
            return NULL;
        return json_stringn(s, n);
    }
    case LUA_TTABLE:
        return table_to_json(L, idx, depth + 1, path, err);
    default:
        sw_err_set(err, "cannot convert a %s to a value", luaL_typename(L, idx));
        return NULL;
    }
}

/* A sequence 1..n becomes an array, an empty table {}, string keys an object. */
static json_t *table_to_json(lua_State *L, int idx, int depth, const void **path, sw_err *err)
{
    if (depth > MAX_DEPTH) {
        sw_err_set(err, "tables nested deeper than %d levels cannot be a value", MAX_DEPTH);
        return NULL;
    }
    const void *self = lua_topointer(L, idx);
    for (int i = 0; i < depth - 1; i++) {
        if (path[i] == self) {
            sw_err_set(err, "a table that contains itself cannot be a value");
            return NULL;
        }
    }
    path[depth - 1] = self;
    if (!lua_checkstack(L, 4)) {
        sw_err_set(err, "lua: stack overflow");
        return NULL;
    }

    size_t count = 0, ints = 0, strings = 0;
    lua_Integer max = 0;
    int odd_key = LUA_TNIL;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        if (lua_type(L, -2) == LUA_TSTRING) {
            strings++;
        } else if (lua_isinteger(L, -2) && lua_tointeger(L, -2) >= 1) {
            ints++;
            if (lua_tointeger(L, -2) > max)
                max = lua_tointeger(L, -2);
        } else if (odd_key == LUA_TNIL) {
            odd_key = lua_type(L, -2);
        }
        lua_pop(L, 1);
    }

    if (count > 0 && ints == count && (size_t)max == count) {
        json_t *arr = json_array();
        for (size_t i = 1; i <= count; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            json_t *item = item_to_json(L, lua_gettop(L), depth, path, err);
            lua_pop(L, 1);
            if (!item) {
                sw_err_prefix(err, "item %zu: ", i);
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, item);
        }
        return arr;
    }
    if (strings != count) {
        if (odd_key == LUA_TNIL)
            sw_err_set(err, "a table mixing string keys with number keys cannot be a value "
                            "(an array needs keys 1..n, an object string keys)");
        else
            sw_err_set(err, "a table with a %s key cannot be a value (an object needs string keys)",
                       lua_typename(L, odd_key));
        return NULL;
    }
    json_t *obj = json_object();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        json_t *item = NULL;
        if (check_text(k, klen, err) == 0)
            item = item_to_json(L, lua_gettop(L), depth, path, err);
        if (!item) {
            sw_err_prefix(err, "field '%s': ", k);
            lua_pop(L, 2);
            json_decref(obj);
            return NULL;
        }
        json_object_setn_new_nocheck(obj, k, klen, item);
        lua_pop(L, 1);
    }
    return obj;
}

int sw_sandbox_to_value(lua_State *L, int idx, sw_value *out, sw_err *err)
{
    idx = lua_absindex(L, idx);
    *out = SW_VALUE_NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNONE:
    case LUA_TNIL:
        return 0;
    case LUA_TBOOLEAN:
        *out = sw_value_bool(lua_toboolean(L, idx));
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            *out = sw_value_int((int64_t)lua_tointeger(L, idx));
        else
            *out = sw_value_double(lua_tonumber(L, idx));
        return 0;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        if (check_text(s, n, err) < 0)
            return -1;
        *out = sw_value_string(s);
        return 0;
    }
    case LUA_TTABLE: {
        const void *path[MAX_DEPTH];
        json_t *j = table_to_json(L, idx, 1, path, err);
        if (!j)
            return -1;
        char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        if (!text)
            return sw_err_set(err, "cannot write the table as JSON");
        *out = sw_value_json_text(text);
        free(text);
        return 0;
    }
    default:
        return sw_err_set(err, "cannot convert a %s to a value", luaL_typename(L, idx));
    }
}

/* Raises a Lua error when memory runs out: call in protected mode. Each owner
   gets a fresh table, so a global of the same name (even a library) is replaced,
   never merged into. */
void sw_sandbox_push_context_globals(lua_State *L, const sw_context *ctx)
{
    luaL_checkstack(L, 8, "context view");
    lua_newtable(L); /* owner name -> table */
    int owners = lua_gettop(L);
    size_t n = ctx ? sw_context_count(ctx) : 0;
    for (size_t i = 0; i < n; i++) {
        if (sw_context_flags_at(ctx, i) & SW_CTX_SECRET)
            continue;
        const char *key = sw_context_key_at(ctx, i);
        const char *dot = key ? strchr(key, '.') : NULL;
        if (!dot || dot == key || dot[1] == '\0')
            continue;
        size_t olen = (size_t)(dot - key);
        if (olen == 3 && memcmp(key, "env", 3) == 0)
            continue;
        lua_pushlstring(L, key, olen);
        lua_pushvalue(L, -1);
        if (lua_rawget(L, owners) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, -2);
            lua_rawset(L, owners);
        }
        lua_pushstring(L, dot + 1);
        sw_sandbox_push_value(L, sw_context_value_at(ctx, i));
        lua_rawset(L, -3);
        lua_pop(L, 2);
    }
    lua_pushglobaltable(L);
    lua_pushnil(L);
    while (lua_next(L, owners)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
}
