-- score.lua: a Lua stage from a file; its errors carry this file's line numbers.
function run(ctx, cfg)
  if ctx.vars.explode then
    error("exploded on purpose")
  end
  return {score = ctx.src.d * 2, label = cfg.outputs.label}
end
