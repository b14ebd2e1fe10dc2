-- wrk: POST a small chat completion as one of 10,000 conversations (a session header),
-- so the router's pins and nginx's split_clients both see realistic, repeating sessions.
wrk.method = "POST"
wrk.body = '{"model": "bench", "messages": [{"role": "user", "content": "hello"}]}'
wrk.headers["Content-Type"] = "application/json"

request = function()
    wrk.headers["x-slipway-session"] = "s" .. math.random(1, 10000)
    return wrk.format(nil, nil, nil, nil)
end
