-- wrk: POST a chat completion to the gateway agent support-agent as one of 10,000
-- conversations (a session header), so the router pins repeating sessions.
wrk.method = "POST"
wrk.body = '{"model": "support-agent", "messages": [{"role": "user", "content": "where is my order?"}]}'
wrk.headers["Content-Type"] = "application/json"

request = function()
    wrk.headers["x-slipway-session"] = "s" .. math.random(1, 10000)
    return wrk.format(nil, nil, nil, nil)
end
