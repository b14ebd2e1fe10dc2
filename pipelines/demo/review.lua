-- review.lua: a release policy written in Lua, run in Slipway's sandbox.
--
-- It reads the release the versioning stage built and checks what a platform
-- team would want of every agent version before any user sees it: a pinned
-- model, a conservative temperature, a prompt of sane size, and no tool that can
-- do irreversible harm without a human in the loop.

local function count_by(tools, field)
  local counts = {}
  for _, tool in ipairs(tools) do
    local key = tool[field]
    counts[key] = (counts[key] or 0) + 1
  end
  return counts
end

function run(ctx, cfg)
  local release = ctx.release.manifest
  local tools = release.tools or {}
  local effects = count_by(tools, "side_effect")
  local prompt = release.prompts.system.text

  slipway.log("info", string.format("release %s: %d tools, model %s", release.id, #tools,
                                    release.model.name))
  for effect, n in pairs(effects) do
    slipway.log("info", string.format("  %d %s tool(s)", n, effect))
  end

  local findings = {}
  if release.parameters.temperature > ctx.vars.max_temperature then
    findings[#findings + 1] = string.format("temperature %.2f above %.2f",
                                            release.parameters.temperature, ctx.vars.max_temperature)
  end
  if (effects.irreversible or 0) > 0 then
    findings[#findings + 1] = "an irreversible tool needs a human approval step"
  end
  if #prompt > ctx.vars.max_prompt_chars then
    findings[#findings + 1] = string.format("system prompt is %d characters (limit %d)", #prompt,
                                            ctx.vars.max_prompt_chars)
  end

  return {
    tools = #tools,
    mutating_tools = (effects.mutating or 0) + (effects.irreversible or 0),
    prompt_chars = #prompt,
    findings = #findings,
    summary = #findings == 0 and "no findings" or table.concat(findings, "; "),
  }
end
