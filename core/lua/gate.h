/*
 * gate.h - a Lua condition over the context: a stage's `gate:` (and later the
 * monitor's rollback_when and canary's approve).
 *
 * The source is an expression ("golden.pass_rate >= 0.95") or a chunk with
 * `return`. It sees each earlier stage's outputs as a table named by the
 * stage id, and `vars`. It returns true, or false and a reason. An error, a
 * non-boolean or a cap reached counts as a failed gate, with the message.
 */
#ifndef SW_LUA_GATE_H
#define SW_LUA_GATE_H

#include "sandbox.h"

typedef struct sw_gate sw_gate;

/* Compile. origin as for sw_sandbox_load, so errors read
   "pipeline.yaml:12:7: attempt to compare nil with number". */
sw_gate *sw_gate_compile(const char *source, const sw_origin *origin, const sw_lua_limits *limits,
                         sw_err *err);
void sw_gate_free(sw_gate *gate);
/* Where a stage's `with:` parameter holding Lua was written (host->param_origin),
   or, when it was not written in the pipeline file, an origin that names the
   parameter ("rollback_when:1"). */
sw_origin sw_gate_param_origin(const sw_host *host, sw_stage *stage, const char *name);

typedef enum sw_gate_result { SW_GATE_PASS = 0, SW_GATE_FAIL, SW_GATE_ERROR } sw_gate_result;

/* Evaluate over ctx. On FAIL *reason is the gate's reason (or "gate returned
   false"); on ERROR the Lua error with its line. *reason is malloc'd; caller frees. */
sw_gate_result sw_gate_eval(sw_gate *gate, const sw_context *ctx, char **reason);

#endif
