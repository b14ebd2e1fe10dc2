/*
 * sandbox.h - a Lua 5.4 state that untrusted policy code cannot escape.
 *
 * One state per snippet. Only base, string, table, math, utf8 and coroutine
 * are opened (coroutines inherit the hook, so the caps hold inside them); from
 * base the functions that reach outside or escape the caps (load, loadfile,
 * dofile, require, collectgarbage, print, warn) are removed, and string.dump
 * with them; io, os, package and debug are never opened. xpcall is replaced by
 * one that runs its handler after unwinding (Lua runs handlers with hooks off,
 * so a looping handler would escape the caps), and setmetatable refuses __gc
 * (finalizers run when no cap is armed). Chunks are loaded as text only, never
 * bytecode. A counting allocator caps memory; an instruction hook caps steps
 * and wall time. Every call runs under lua_pcall with a traceback.
 */
#ifndef SW_LUA_SANDBOX_H
#define SW_LUA_SANDBOX_H

#include <lua.h>

#include "model/context.h"

typedef struct sw_lua_limits {
    size_t memory_bytes; /* 0: default 32 MiB */
    uint64_t max_steps;  /* VM instructions per call; 0: default 50,000,000 */
    int64_t timeout_ms;  /* wall time per call; 0: default 1000 */
} sw_lua_limits;

typedef struct sw_sandbox sw_sandbox;

sw_sandbox *sw_sandbox_new(const sw_lua_limits *limits, sw_err *err);
void sw_sandbox_free(sw_sandbox *sb);
lua_State *sw_sandbox_state(sw_sandbox *sb);
/* Stop running code as soon as interrupt(ud) returns nonzero (checked with the
   other caps, every 1000 instructions): how a cancelled Lua stage stops. */
void sw_sandbox_set_interrupt(sw_sandbox *sb, int (*interrupt)(void *ud), void *ud);
/* Replace the time limit (e.g. a Lua stage's own timeout). */
void sw_sandbox_set_timeout(sw_sandbox *sb, int64_t timeout_ms);

/* Compile text (never bytecode) and push the function. origin says where the
   code was written (NULL: nowhere in particular), and every message of the
   sandbox's names positions in that file as "file:line:col" (source_map.h),
   whatever the file name's length. A sandbox maps the positions of the chunk it
   loaded last: one chunk per sandbox. */
int sw_sandbox_load(sw_sandbox *sb, const char *code, size_t len, const sw_origin *origin,
                    sw_err *err);
/* The file positions are shown in ("lua" before any load). */
const char *sw_sandbox_file(const sw_sandbox *sb);
/* lua_pcall with the limits armed and a traceback on error. The message says
   "memory limit of N bytes exceeded", "instruction limit ... exceeded" or
   "time limit of N ms exceeded" when a cap stopped the code. */
int sw_sandbox_call(sw_sandbox *sb, int nargs, int nresults, sw_err *err);

/* Values: JSON becomes tables (arrays 1-based); null becomes nil. Like every
   allocation in the state, these raise a Lua error when the memory cap is
   reached: call them in protected mode. */
void sw_sandbox_push_value(lua_State *L, const sw_value *v);
/* A Lua value at idx as a typed value: boolean, integer, float, string, table ->
   JSON (a sequence 1..n becomes an array, else an object with string keys). */
int sw_sandbox_to_value(lua_State *L, int idx, sw_value *out, sw_err *err);
/* Set one global table per key owner ("release" -> {id=..., ...}, "vars", "failure"),
   secrets (env.*) left out. */
void sw_sandbox_push_context_globals(lua_State *L, const sw_context *ctx);

#endif
