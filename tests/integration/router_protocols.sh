#!/usr/bin/env bash
# The OpenAI Responses API and Anthropic Messages through the router in service mode, in front of
# `slipway mock`: the same assignment, headers, metrics, shadow and events as Chat Completions;
# streams passed through event by event with usage and time to first token read from them; a
# Responses conversation continued with previous_response_id keeps its session and version;
# errors in each protocol's own shape.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=50 two_versions_config "$T/router.yaml" "limits: {max_body_bytes: 2000}"
start_router "$T/router.yaml"

# ---- Responses, not streamed ----
post /v1/responses '{"model": "support-agent", "input": "hello", "user": "r-1"}'
expect_eq "$status" 200 "responses: 200 through the router"
expect_eq "$(jget 'd["output"][0]["content"][0]["text"]')" "$version answers: hello" \
    "responses: the answering version's text" 
[ "$version" = v2 ] && expect_eq "$(jget 'd["output"][0]["content"][0]["text"]')" "v2 replies: hello" "responses: v2's words" || true
expect_eq "$(hdr x-slipway-session)" r-1 "responses: the user field is the session"
expect_eq "$(hdr x-slipway-assignment)" split "responses: assigned by the split"
post /agents/support-agent/v1/responses '{"model": "gpt-whatever", "input": [{"role": "user", "content": "again"}], "user": "r-1"}'
expect_eq "$status/$(hdr x-slipway-assignment)" 200/pin "responses: the path names the agent; the session is pinned"

# A conversation continued with previous_response_id alone keeps its (generated) session and
# version, whichever version the split gave it.
same=0
versions=""
for i in 1 2 3 4 5 6 7 8; do
    post /v1/responses "{\"model\": \"support-agent\", \"input\": \"turn one $i\"}"
    v1st=$version s1st=$(hdr x-slipway-session)
    id=$(jget 'd["id"]')
    post /v1/responses "{\"model\": \"support-agent\", \"input\": \"turn two\", \"previous_response_id\": \"$id\"}"
    id=$(jget 'd["id"]')
    post /v1/responses "{\"model\": \"support-agent\", \"input\": \"turn three\", \"previous_response_id\": \"$id\"}"
    [ "$version" = "$v1st" ] && [ "$(hdr x-slipway-session)" = "$s1st" ] &&
        [ "$(hdr x-slipway-assignment)" = pin ] && same=$((same + 1))
    versions="$versions $v1st"
done
expect_eq "$same" 8 "responses: previous_response_id keeps the session and version (first turns on:$versions)"
post /v1/responses '{"model": "support-agent", "input": "x", "previous_response_id": "resp_never_served"}'
expect_eq "$status" 200 "responses: an unknown previous_response_id starts a new session"
post /v1/responses '{"model": "support-agent", "input": "x", "conversation": "conv_42"}'
expect_eq "$(hdr x-slipway-session)" conv_42 "responses: a conversation id is the session"

# ---- Messages, not streamed ----
post /v1/messages '{"model": "support-agent", "max_tokens": 100, "metadata": {"user_id": "m-1"}, "messages": [{"role": "user", "content": "hi"}]}' \
    -H 'x-api-key: sk-ant-test' -H 'anthropic-version: 2023-06-01'
expect_eq "$status" 200 "messages: 200 through the router"
expect_eq "$(hdr x-slipway-session)" m-1 "messages: metadata.user_id is the session"
[ "$version" = v1 ] && want="v1 answers: hi" || want="v2 replies: hi"
expect_eq "$(jget 'd["content"][0]["text"]')" "$want" "messages: the answering version's text"
mv1=$version
post /v1/messages '{"model": "support-agent", "max_tokens": 100, "metadata": {"user_id": "m-1"}, "messages": [{"role": "user", "content": "my order"}], "tools": [{"name": "lookup_order", "input_schema": {"type": "object"}}]}'
expect_eq "$version/$(hdr x-slipway-assignment)" "$mv1/pin" "messages: the session stays on its version"
expect_eq "$(jget 'd["stop_reason"] + " " + d["content"][0]["name"]')" "tool_use lookup_order" "messages: a tool_use answer"
tool_metric=$(metric "slipway_tool_calls_total{agent=\"support-agent\",version=\"$mv1\"}")
[ "$tool_metric" -ge 1 ] && ok "messages: the tool call is counted ($tool_metric)" || bad "tool calls: $tool_metric"

# A rule on a header sends a request of either protocol to v2.
admin PUT /admin/agents/support-agent/route '{"version": 1, "rules": [{"name": "staff", "header": "x-team", "op": "eq", "value": "platform", "version": "v2"}]}'
expect_eq "$status" 200 "a header rule"
post /v1/messages '{"model": "support-agent", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}' -H 'x-team: platform'
expect_eq "$version/$(hdr x-slipway-assignment)" v2/rule "messages: assigned by the rule"
post /v1/responses '{"model": "support-agent", "input": "hi"}' -H 'x-team: platform'
expect_eq "$version/$(hdr x-slipway-assignment)" v2/rule "responses: assigned by the rule"

# ---- Streams: passed through event by event, usage and TTFT read from them ----
ttft_before=$(metric 'slipway_time_to_first_token_seconds_count{agent="support-agent",version="v2"}')
tokens_before=$(metric 'slipway_tokens_total{agent="support-agent",version="v2",direction="out"}')
curl -sN --max-time 10 -H 'x-slipway-session: s-stream' -H 'x-team: platform' -d '{"model": "support-agent", "stream": true, "input": "stream please"}' \
    "$URL/v1/responses" >"$T/r.sse"
names=$(grep '^event:' "$T/r.sse" | cut -d' ' -f2 | uniq | tr '\n' ' ')
expect_eq "$names" "response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta response.output_text.done response.content_part.done response.output_item.done response.completed " \
    "responses: the stream's events as the upstream sent them"
text=$(grep '^data:' "$T/r.sse" | cut -c7- | python3 -c 'import json,sys; print("".join(json.loads(l).get("delta","") for l in sys.stdin if "output_text.delta" in l))')
expect_eq "$text" "v2 streams a reply in small pieces" "responses: the deltas make the text"
curl -sN --max-time 10 -H 'x-slipway-session: s-stream' -H 'x-team: platform' -d '{"model": "support-agent", "stream": true, "max_tokens": 64, "messages": [{"role": "user", "content": "stream please"}]}' \
    "$URL/v1/messages" >"$T/m.sse"
names=$(grep '^event:' "$T/m.sse" | cut -d' ' -f2 | uniq | tr '\n' ' ')
expect_eq "$names" "message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop " \
    "messages: the stream's events as the upstream sent them"
ttft_after=$(metric 'slipway_time_to_first_token_seconds_count{agent="support-agent",version="v2"}')
expect_eq "$((ttft_after - ttft_before))" 2 "both streams have a time to first token"
tokens_after=$(metric 'slipway_tokens_total{agent="support-agent",version="v2",direction="out"}')
# "v2 streams a reply in small pieces" is 34 bytes: 9 tokens each.
expect_eq "$((tokens_after - tokens_before))" 18 "output tokens read from both streams"
admin GET "/admin/stats?agent=support-agent&since=5m"
ttft_p50=$(jget 'd["versions"]["v2"]["ttft_ms"]["p50"] is not None')
expect_eq "$ttft_p50" True "TTFT in the stats"

# New sessions on v1 from here (its scenario has the faults).
admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 0}'
expect_eq "$status" 200 "weight 0: new sessions on v1"
# A stream cut by the upstream ends with an error event in the protocol's shape.
curl -sN --max-time 10 -H 'x-slipway-session: s-cut' -d '{"model": "support-agent", "stream": true, "max_tokens": 64, "messages": [{"role": "user", "content": "stall me"}]}' \
    "$URL/agents/support-agent/v1/messages" >"$T/cut.sse"
last=$(grep '^data:' "$T/cut.sse" | tail -1 | cut -c7-)
body=$last
expect_eq "$(grep '^event:' "$T/cut.sse" | tail -1)" "event: error" "messages: a cut stream ends with an error event"
expect_eq "$(jget 'd["type"] + " " + d["error"]["type"]')" "error api_error" "messages: the error event in Anthropic's shape"
cut=$(metric 'slipway_request_errors_total{agent="support-agent",version="v1",class="stream_cut"}')
[ "$cut" -ge 1 ] && ok "the cut is counted as stream_cut" || bad "stream_cut: $cut"

# ---- Errors in each protocol's shape ----
post /v1/messages '{"model": "no-such-agent", "max_tokens": 5, "messages": []}'
expect_eq "$status/$(jget 'd["type"] + " " + d["error"]["type"]')" "404/error not_found_error" "messages: an unknown agent in Anthropic's shape"
post /v1/responses '{"model": "no-such-agent", "input": "x"}'
expect_eq "$status/$(jget 'd["error"]["code"]')" "404/model_not_found" "responses: an unknown agent in OpenAI's shape"
post /v1/messages '{"model": "support-agent", "max_tokens": 5, "messages": "hi"}'
expect_eq "$status/$(jget 'd["error"]["type"]')" "400/invalid_request_error" "messages: messages must be a list"
post /v1/responses '{"model": "support-agent", "input": 7}'
expect_eq "$status/$(jget 'd["error"]["code"]')" "400/invalid_messages" "responses: input must be a text or items"
post /v1/messages "{\"model\": \"support-agent\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"$(head -c 3000 /dev/zero | tr '\0' a)\"}]}"
expect_eq "$status/$(jget 'd["error"]["type"]')" "413/request_too_large" "messages: over the body limit in Anthropic's shape"
post /v1/messages '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}'
expect_eq "$status/$(jget 'd["error"]["message"]')" "400/max_tokens: Field required" "messages: the upstream's own 400 passed through"
post /v1/messages '{"model": "support-agent", "max_tokens": 5, "messages": [{"role": "user", "content": "rate me"}]}' -H 'x-slipway-session: s-rate'
expect_eq "$status/$(jget 'd["error"]["type"]')" "429/rate_limit_error" "messages: an upstream 429 after the retries, in its shape"
curl -s -o /dev/null -w '%{http_code}' -X GET "$URL/v1/messages" >"$T/code"
expect_eq "$(cat "$T/code")" 405 "GET /v1/messages is 405"

# ---- Events and shadow ----
post /v1/events '{"type": "task", "session": "m-1", "outcome": "completed"}'
expect_eq "$status" 202 "an event for a Messages session"
expect_eq "$(metric "slipway_events_total{agent=\"support-agent\",version=\"$mv1\",type=\"task\",outcome=\"completed\"}")" 1 \
    "the event goes to the session's version"
admin PUT /admin/agents/support-agent/route '{"version": 3, "rules": [], "shadow": {"version": "v2", "percent": 100}}'
post /v1/responses '{"model": "support-agent", "input": "shadow me", "user": "sh-r"}' -H 'x-team: none'
post /v1/messages '{"model": "support-agent", "max_tokens": 50, "messages": [{"role": "user", "content": "shadow me"}], "metadata": {"user_id": "sh-m"}}'
for i in $(seq 1 200); do
    admin GET "/admin/shadow?agent=support-agent"
    [ "$(jget 'len([p for p in d["pairs"] if p["session"] in ("sh-r", "sh-m")])')" -ge 2 ] && break
    sleep 0.05
done
expect_eq "$(jget 'sorted(p["shadow"]["text"] for p in d["pairs"] if p["session"] in ("sh-r", "sh-m"))')" \
    "['v2 replies: shadow me', 'v2 replies: shadow me']" "shadow copies of both protocols, read in their protocol"
v1_stats=$(jget '[p["primary"]["text"] for p in d["pairs"] if p["session"] == "sh-r"]')
case $v1_stats in *"shadow me"*) ok "the primary's side of a Responses pair" ;; *) bad "primary side: $v1_stats" ;; esac

# The mock counts each protocol.
stats=$(curl -s "http://127.0.0.1:$v2_PORT/mock/stats")
body=$stats
[ "$(jget 'd["responses"]')" -ge 2 ] && [ "$(jget 'd["messages"]')" -ge 2 ] && ok "the mock counts responses and messages" || bad "mock stats: $stats"
# ---- slipway traffic in each protocol: multi-turn sessions, tool calls run and answered ----
for proto in responses messages; do
    swr traffic --router "$URL" --agent support-agent --users 2 --rate 20 --duration 1s --seed 3 \
        --protocol "$proto" --json
    expect_rc 0 "traffic --protocol $proto"
    body=$(printf '%s' "$out" | tail -n 1)
    expect_eq "$(jget '(d["sessions"], d["failed"], d["request_errors"])')" "(20, 0, 0)" \
        "$proto: 20 sessions, none failed"
    expect_eq "$(jget 'd["tool_calls"] > 0 and d["requests"] >= 2 * d["sessions"] + d["tool_calls"]')" True \
        "$proto: tool calls answered by the application ($(jget 'd["tool_calls"]') calls, $(jget 'd["requests"]') requests)"
    expect_eq "$(jget 'd["events_sent"] == d["tool_calls"] + d["sessions"]')" True "$proto: every event sent"
done
stats=$(curl -s "http://127.0.0.1:$v1_PORT/mock/stats")
body=$stats
[ "$(jget 'd["by_rule"]["tool-result"]')" -ge 20 ] && ok "the tool results reached the model ($(jget 'd["by_rule"]["tool-result"]'))" ||
    bad "tool-result rule: $stats"
swr traffic --router "$URL" --agent support-agent --protocol soap
expect_rc 2 "an unknown protocol is bad usage"
expect_out "expected chat, responses or messages" "the error names the protocols"

router_done
finish
