#!/usr/bin/env bash
# The router in front of two `slipway mock` versions: requests and streams pass through with
# the version and session headers, agents are addressed by model or by path, usage is counted.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"

chat "conv-1" "hello"
expect_eq "$status" 200 "a chat request passes through"
expect_eq "$version" v1 "weight 0: the stable version answers"
expect_eq "$(hdr x-slipway-session)" conv-1 "the session comes back in x-slipway-session"
expect_eq "$(hdr x-slipway-assignment)" split "assigned by the split"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "v1 answers: hello" "the body is v1's"
chat "conv-1" "again"
expect_eq "$(hdr x-slipway-assignment)" pin "the second request follows the pin"

# No session: a generated one, in the header and a cookie.
chat "" "who am I"
sid=$(hdr x-slipway-session)
[ ${#sid} -eq 32 ] && ok "a generated session id" || bad "generated session id: '$sid'"
grep -qi "^set-cookie: slipway_session=$sid;" "$T/h.txt" && ok "and a cookie" || bad "no cookie for $sid"
chat "" "cookie" support-agent -H "Cookie: slipway_session=$sid"
expect_eq "$(hdr x-slipway-session)" "$sid" "the cookie names the session"
expect_eq "$(hdr x-slipway-assignment)" pin "and its pin"
grep -qi "^set-cookie" "$T/h.txt" && bad "a cookie again" || ok "no new cookie for a known session"

# The body's user field names the session when no header does.
out=$(curl -s --max-time 10 -D "$T/h.txt" -d '{"model": "support-agent", "user": "u-42", "messages": [{"role": "user", "content": "x"}]}' "$URL/v1/chat/completions")
expect_eq "$(hdr x-slipway-session)" u-42 "the user field names the session"

# The agent by path, whatever the model says.
out=$(curl -s --max-time 10 -D "$T/h.txt" -d '{"model": "gpt-4o", "messages": [{"role": "user", "content": "by path"}]}' "$URL/agents/support-agent/v1/chat/completions")
expect_eq "$(hdr x-slipway-version)" v1 "/agents/<name>/v1/chat/completions"

# Streaming: events pass through, the usage chunk the router asked for is not forwarded.
curl -s -N --max-time 10 -D "$T/h.txt" -o "$T/stream.txt" -H 'x-slipway-session: s-stream' \
    -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "stream"}]}' \
    "$URL/v1/chat/completions"
expect_eq "$(hdr content-type)" "text/event-stream" "a stream is text/event-stream"
expect_eq "$(hdr x-accel-buffering)" no "X-Accel-Buffering: no"
expect_eq "$(hdr x-slipway-version)" v1 "the stream's version header"
expect_eq "$(tail -n 2 "$T/stream.txt" | head -n 1)" "data: [DONE]" "the stream ends with [DONE]"
text=$(grep '^data: {' "$T/stream.txt" | sed 's/^data: //' | python3 -c '
import json, sys
print("".join((json.loads(l)["choices"] or [{}])[0].get("delta", {}).get("content") or "" for l in sys.stdin))')
expect_eq "$text" "v1 streams an answer in small pieces" "the streamed text is whole"
grep -q '"usage":{' "$T/stream.txt" && bad "the injected usage chunk reached the client" || ok "the injected usage chunk is not forwarded"
n=$(grep -c '^data: ' "$T/stream.txt")
[ "$n" -gt 5 ] && ok "many events ($n)" || bad "only $n events"

# A client that asks for usage gets it.
curl -s -N --max-time 10 -o "$T/stream2.txt" -H 'x-slipway-session: s-stream' \
    -d '{"model": "support-agent", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "stream"}]}' \
    "$URL/v1/chat/completions"
grep -q '"usage":{' "$T/stream2.txt" && ok "include_usage: the usage chunk is forwarded" || bad "usage chunk missing"

# Tool calls are counted.
chat "conv-tools" "order status"
expect_eq "$(jget 'd["choices"][0]["message"]["tool_calls"][0]["function"]["name"]')" lookup_order "a tool call passes through"

# Metrics: per version, with tokens from bodies and streams.
req=$(metric 'slipway_requests_total{agent="support-agent",version="v1"}')
expect_eq "$req" 9 "nine requests counted on v1"
tin=$(metric 'slipway_tokens_total{agent="support-agent",version="v1",direction="out"}')
[ "$tin" -gt 0 ] && ok "tokens counted ($tin out)" || bad "no tokens counted"
expect_eq "$(metric 'slipway_tool_calls_total{agent="support-agent",version="v1"}')" 1 "one tool call counted"
metrics=$(curl -s --max-time 10 "$URL/metrics")
grep -q '^slipway_time_to_first_token_seconds_bucket{agent="support-agent",version="v1",le="+Inf"} 2$' <<<"$metrics" \
    && ok "TTFT histogram has the two streams" || bad "TTFT histogram"

admin GET "/admin/stats?agent=support-agent&since=10m"
expect_eq "$status" 200 "stats"
expect_eq "$(jget 'd["versions"]["v1"]["requests"]')" 9 "stats count the requests"
expect_eq "$(jget 'd["versions"]["v1"]["error_rate"]')" 0.0 "no errors"

body=$(curl -s --max-time 10 "$URL/v1/models")
expect_eq "$(jget '[m["id"] for m in d["data"]]')" "['support-agent']" "/v1/models lists the agents"
body=$(curl -s --max-time 10 "$URL/healthz")
expect_eq "$(jget 'd["ok"]')" True "/healthz"

stop_router
expect_eq "$stop_rc" 0 "SIGTERM: a clean exit"
grep -q "slipway serve: stopped" "$T/router.log" && ok "says it stopped" || bad "no stop line"
router_done
finish
