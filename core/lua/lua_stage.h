/*
 * lua_stage.h - `uses: lua`: a stage written in Lua, built into the core.
 *
 *   with:
 *     script: checks/score.lua      # or  code: | ...   (exactly one)
 *     outputs: {score: double, ok: bool}
 *     timeout: 5s                   # Lua wall-time cap (default 10s)
 *     memory_mb: 64                 # default 64
 *
 * The script defines run(ctx, cfg): ctx has the earlier outputs as tables by
 * stage id plus vars; cfg is the `with:` table. It returns a table of outputs,
 * or nil and a reason (the stage fails). An error is a stage error. A small
 * `slipway` table gives log(level, msg), get(key), progress(fraction, note),
 * cancelled().
 */
#ifndef SW_LUA_LUA_STAGE_H
#define SW_LUA_LUA_STAGE_H

#include "model/yamldoc.h"

const sw_stage_desc *sw_lua_stage_desc(void);

/* The outputs a lua stage declares in with.outputs, for the checker. The
   array and its names are malloc'd: free with sw_lua_stage_outputs_free. */
int sw_lua_stage_outputs(const sw_ydoc *doc, const sw_ynode *with, sw_port **out, size_t *n,
                         sw_diags *d);
void sw_lua_stage_outputs_free(sw_port *ports, size_t n);

#endif
