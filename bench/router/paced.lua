-- wrk: the requests of post.lua, each connection waiting DELAY_MS between its requests, so
-- CONNECTIONS / DELAY_MS sets the rate (wrk itself has no rate option; wrk2 is not packaged).
dofile(os.getenv("BENCH_DIR") .. "/post.lua")
local d = tonumber(os.getenv("DELAY_MS") or "10")
delay = function()
    return d
end
