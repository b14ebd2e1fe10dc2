-- wrk: every request a new conversation. KEYS=client: a session header of 32 characters, new
-- each request and unique across runs (PIN_PREFIX, 8 characters); KEYS=generated: no header,
-- so the router makes the key up (and asks no other replica for it).
wrk.method = "POST"
wrk.body = '{"model": "support-agent", "messages": [{"role": "user", "content": "where is my order?"}]}'
wrk.headers["Content-Type"] = "application/json"

local prefix = os.getenv("PIN_PREFIX") or "pinbench"
local client = (os.getenv("KEYS") or "client") == "client"
local n = 0

request = function()
    if client then
        n = n + 1
        wrk.headers["x-slipway-session"] = string.format("%s%024d", prefix, n)
    end
    return wrk.format(nil, nil, nil, nil)
end
