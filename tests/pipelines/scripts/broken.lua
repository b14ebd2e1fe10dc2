-- broken.lua: fails on line 3, inside run.
function run(ctx, cfg)
  return {x = ctx.nothing.here}
end
