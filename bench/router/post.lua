-- wrk: POST a small chat completion as one of 10,000 conversations (a session header),
-- so the router's pins and nginx's split_clients both see realistic, repeating sessions.
-- WRK_BODY, when set, is the body instead (another protocol's request, a stream).
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or '{"model": "bench", "messages": [{"role": "user", "content": "hello"}]}'
wrk.headers["Content-Type"] = "application/json"

request = function()
    wrk.headers["x-slipway-session"] = "s" .. math.random(1, 10000)
    return wrk.format(nil, nil, nil, nil)
end
