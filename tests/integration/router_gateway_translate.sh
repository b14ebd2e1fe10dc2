#!/usr/bin/env bash
# Gateway translation: a Chat Completions application served by a release whose provider speaks
# Anthropic Messages (`slipway mock` playing it on /v1/messages), and a Messages application
# served by an OpenAI-compatible provider; not streamed and streamed (translated event by event),
# a tool call round trip, refusals in the client's error shape, the provider's key and version
# headers, and time to first token through the router next to the direct one (reported).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock cl "$FIX/claude.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "release (provider openai)"
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# The same agent on Claude: provider anthropic, no seed (Messages has none).
python3 - "$T/bundle/agent.yaml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("provider: openai", "provider: anthropic").replace("gpt-4o-2024-08-06", "claude-sonnet-4-20250514")
s = re.sub(r"\n  seed: 7", "", s)
open(p, "w").write(s)
PY
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "release (provider anthropic)"
C=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# And on OpenAI again without the seed (the Responses API has none).
sed -i 's/provider: anthropic/provider: openai/; s/claude-sonnet-4-20250514/gpt-4o-2024-08-06/' "$T/bundle/agent.yaml"
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "release (provider openai, no seed)"
D=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
out=""
printf 'sk-ant-test-key-not-real\n' >"$T/anthropic.key"

cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
store: $SLIPWAY_STATE_DIR
providers:
  openai: {base_url: "http://127.0.0.1:$cl_PORT/v1", api_key_env: SW_TEST_PROVIDER_KEY}
  anthropic: {base_url: "http://127.0.0.1:$cl_PORT/v1", api_key_file: $T/anthropic.key, anthropic_version: "2023-06-01"}
agents:
  support-agent:
    mode: gateway
    route: {stable: "$C"}
YAML
SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key start_router "$T/router.yaml"

# ---- a Chat client, a Messages provider ----
post /v1/chat/completions '{"model": "support-agent", "messages": [{"role": "user", "content": "hello"}], "user": "u-1"}'
expect_eq "$status" 200 "chat -> messages: 200"
expect_eq "$version" "$C" "the Claude release answers"
expect_eq "$(jget 'd["object"]')" chat.completion "a chat.completion comes back"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "claude with the release prompt and tools" \
    "the provider got the release's system and tools in Messages terms"
expect_eq "$(jget 'd["model"]')" claude-sonnet-4-20250514 "the pinned Claude model"
expect_eq "$(jget 'd["choices"][0]["finish_reason"]')" stop "end_turn is finish_reason stop"
expect_eq "$(jget 'd["usage"]["prompt_tokens"] > 0 and d["usage"]["completion_tokens"] > 0')" True "usage mapped"
grep -q "sk-ant-test-key" "$T/router.log" && bad "the key is in the router's log" || ok "the key is never logged"

# The tool round trip: a tool_use comes back as tool_calls; the result goes as a tool message.
post /v1/chat/completions '{"model": "support-agent", "messages": [{"role": "user", "content": "where is order NW-123456?"}]}'
expect_eq "$(jget 'd["choices"][0]["finish_reason"]')" tool_calls "tool_use is finish_reason tool_calls"
expect_eq "$(jget 'd["choices"][0]["message"]["tool_calls"][0]["function"]["name"]')" lookup_order "the tool call"
args=$(jget 'd["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]')
expect_eq "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["order_id"])' "$args")" NW-123456 "its arguments as a JSON text"
cid=$(jget 'd["choices"][0]["message"]["tool_calls"][0]["id"]')
round=$(python3 - "$cid" "$args" <<'PY'
import json, sys
cid, args = sys.argv[1], sys.argv[2]
print(json.dumps({"model": "support-agent", "messages": [
    {"role": "user", "content": "where is order NW-123456?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": cid, "type": "function", "function": {"name": "lookup_order", "arguments": args}}]},
    {"role": "tool", "tool_call_id": cid, "content": "shipped on Monday"}]}))
PY
)
post /v1/chat/completions "$round"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "the order says: shipped on Monday" \
    "the tool result went as a tool_result block of the same tool_use"

# Streamed: chat.completion.chunk events translated from Messages events as they come.
curl -s -N --max-time 10 -o "$T/s1.txt" -H 'Content-Type: application/json' \
    -d '{"model": "support-agent", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]}' \
    "$URL/v1/chat/completions"
python3 - "$T/s1.txt" >"$T/s1.out" <<'PY'
import json, sys
text, finish, usage, done, bad = "", None, None, False, []
for block in open(sys.argv[1]).read().split("\n\n"):
    if not block.strip():
        continue
    if block.startswith("event:"):
        bad.append(block[:40])
    data = block.split("data: ", 1)[1]
    if data == "[DONE]":
        done = True
        continue
    c = json.loads(data)
    if c.get("object") != "chat.completion.chunk":
        bad.append(c.get("object"))
    for ch in c.get("choices", []):
        text += ch["delta"].get("content") or ""
        finish = ch.get("finish_reason") or finish
    if c.get("usage"):
        usage = c["usage"]
print(text); print(finish); print(bool(usage and usage["completion_tokens"] > 0)); print(done); print(bad)
PY
expect_eq "$(sed -n 1p "$T/s1.out")" "claude with the release prompt and tools" "a translated stream: the text"
expect_eq "$(sed -n 2p "$T/s1.out")/$(sed -n 3p "$T/s1.out")/$(sed -n 4p "$T/s1.out")/$(sed -n 5p "$T/s1.out")" "stop/True/True/[]" \
    "its finish_reason, a final usage chunk, [DONE], only chunks"
# A streamed tool call: tool_calls deltas (the id and name first, then the arguments).
curl -s -N --max-time 10 -o "$T/s2.txt" -H 'Content-Type: application/json' \
    -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "order NW-654321 please"}]}' \
    "$URL/v1/chat/completions"
got=$(python3 - "$T/s2.txt" <<'PY'
import json, sys
name, args, finish = "", "", None
for block in open(sys.argv[1]).read().split("\n\n"):
    if "data: " not in block or "[DONE]" in block:
        continue
    c = json.loads(block.split("data: ", 1)[1])
    for ch in c.get("choices", []):
        for tc in ch["delta"].get("tool_calls") or []:
            name += tc.get("function", {}).get("name") or ""
            args += tc.get("function", {}).get("arguments") or ""
        finish = ch.get("finish_reason") or finish
print(name, json.loads(args)["order_id"], finish)
PY
)
expect_eq "$got" "lookup_order NW-654321 tool_calls" "a streamed tool call, translated"
ttft=$(metric "slipway_time_to_first_token_seconds_count{agent=\"support-agent\",version=\"$C\"}")
python3 -c "import sys; sys.exit(0 if float('${ttft:-0}') >= 2 else 1)" && ok "time to first token measured on the translated streams ($ttft)" || bad "ttft count '$ttft'"

# Natively: a Messages request to the Messages release passes with the release applied (its
# system, input_schema tools, its max_tokens), streamed as the provider's events.
post /v1/messages '{"model": "support-agent", "messages": [{"role": "user", "content": "hello"}]}'
expect_eq "$status/$(jget 'd["content"][0]["text"]')" "200/claude with the release prompt and tools" \
    "messages -> messages natively, max_tokens from the release"
curl -s -N --max-time 10 -o "$T/s0.txt" -H 'Content-Type: application/json' \
    -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "hello"}]}' "$URL/v1/messages"
grep -q '^event: message_start' "$T/s0.txt" && grep -q '"text_delta"' "$T/s0.txt" && ok "a native Messages stream" ||
    bad "native stream: $(head -c 300 "$T/s0.txt")"
admin GET /admin/agents/support-agent/route
grep -q "sk-ant-test-key" <<<"$body" && bad "the admin API shows the key" || ok "the admin API never shows the key"

# Refusals: 400 in the Chat error shape, naming the field.
post /v1/chat/completions '{"model": "support-agent", "n": 2, "messages": [{"role": "user", "content": "hi"}]}'
expect_eq "$status/$(jget 'd["error"]["param"]')" 400/n "n > 1 is refused, naming n"
grep -q "n > 1" <<<"$body" && ok "and says why" || bad "message: $body"
post /v1/chat/completions '{"model": "support-agent", "logprobs": true, "messages": [{"role": "user", "content": "hi"}]}'
expect_eq "$status/$(jget 'd["error"]["param"]')" 400/logprobs "logprobs is refused"
post /v1/chat/completions '{"model": "support-agent", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}]}]}'
expect_eq "$status/$(jget 'd["error"]["param"]')" 400/messages[0].content "an audio part is refused, naming where"
# A Responses client on Claude: translated through Chat Completions, whole and streamed.
post /v1/responses '{"model": "support-agent", "input": "hello", "max_output_tokens": 300}'
expect_eq "$status/$(jget 'd["object"]')/$(jget 'd["output"][0]["content"][0]["text"]')" \
    "200/response/claude with the release prompt and tools" "responses -> messages: a response"
expect_eq "$(jget 'd["usage"]["input_tokens"] > 0 and d["usage"]["output_tokens"] > 0')" True "with its usage"
post /v1/responses '{"model": "support-agent", "input": [{"role": "user", "content": "order NW-121212?"},
    {"type": "function_call", "call_id": "call_9", "name": "lookup_order", "arguments": "{\"order_id\": \"NW-121212\"}"},
    {"type": "function_call_output", "call_id": "call_9", "output": "returned"}]}'
expect_eq "$(jget 'd["output"][0]["content"][0]["text"]')" "the order says: returned" \
    "a function_call_output reaches Claude as a tool_result"
curl -s -N --max-time 10 -o "$T/s4.txt" -H 'Content-Type: application/json' \
    -d '{"model": "support-agent", "stream": true, "input": "order NW-343434?"}' "$URL/v1/responses"
got=$(python3 - "$T/s4.txt" <<'PY'
import json, sys
names, args, final = [], "", None
for block in open(sys.argv[1]).read().split("\n\n"):
    if not block.strip():
        continue
    name = block.split("\n")[0].split(": ", 1)[1]
    d = json.loads(block.split("data: ", 1)[1])
    assert d["type"] == name
    names.append(name)
    if name == "response.function_call_arguments.delta":
        args += d["delta"]
    if name == "response.completed":
        final = d["response"]
call = [o for o in final["output"] if o["type"] == "function_call"][0]
print(names[0], names[-1], json.loads(args)["order_id"], call["name"], json.loads(call["arguments"])["order_id"])
PY
)
expect_eq "$got" "response.created response.completed NW-343434 lookup_order NW-343434" \
    "a Responses stream translated from Claude's events, its function call whole in response.completed"
post /v1/responses '{"model": "support-agent", "input": "x", "previous_response_id": "resp_1"}'
expect_eq "$status/$(jget 'd["error"]["param"]')" 400/previous_response_id "a stored conversation cannot be translated"

# ---- a Messages client, a Chat provider: the OpenAI release becomes the stable one ----
admin PUT /admin/agents/support-agent/route '{"version": 1, "stable": "'"$A"'"}'
expect_eq "$status" 200 "the OpenAI release is stable"
post /v1/messages '{"model": "support-agent", "max_tokens": 200, "messages": [{"role": "user", "content": "hello"}]}'
expect_eq "$status" 200 "messages -> chat: 200"
expect_eq "$(jget 'd["type"]')/$(jget 'd["content"][0]["type"]')" message/text "an Anthropic message comes back"
expect_eq "$(jget 'd["content"][0]["text"]')" "claude with the release prompt and tools" "with the release applied in Chat terms"
expect_eq "$(jget 'd["stop_reason"]')" end_turn "stop is end_turn"
expect_eq "$(jget 'd["usage"]["input_tokens"] > 0')" True "usage mapped"
post /v1/messages '{"model": "support-agent", "max_tokens": 200, "messages": [{"role": "user", "content": "order NW-111222?"}]}'
expect_eq "$(jget 'd["stop_reason"]')/$(jget 'd["content"][0]["name"]')/$(jget 'd["content"][0]["input"]["order_id"]')" \
    tool_use/lookup_order/NW-111222 "tool_calls come back as a tool_use block"
tid=$(jget 'd["content"][0]["id"]')
post /v1/messages '{"model": "support-agent", "max_tokens": 200, "messages": [{"role": "user", "content": "order NW-111222?"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "'"$tid"'", "name": "lookup_order", "input": {"order_id": "NW-111222"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "'"$tid"'", "content": "delivered"}]}]}'
expect_eq "$(jget 'd["content"][0]["text"]')" "the order says: delivered" "a tool_result goes as a role tool message"
# Natively: a Responses request to an OpenAI release: instructions and flat tools. A release
# parameter Responses has no name for is refused, named.
post /v1/responses '{"model": "support-agent", "input": "hello"}'
expect_eq "$status" 400 "responses: the release's seed has no Responses name"
grep -q "'seed'" <<<"$body" && ok "and is named" || bad "message: $body"
admin PUT /admin/agents/support-agent/route '{"version": 2, "stable": "'"$D"'"}'
post /v1/responses '{"model": "support-agent", "input": "hello"}'
expect_eq "$status/$(jget 'd["output"][0]["content"][0]["text"]')" "200/claude with the release prompt and tools" \
    "responses -> an OpenAI provider natively, the release as instructions and flat tools"
curl -s -N --max-time 10 -o "$T/s3.txt" -H 'Content-Type: application/json' \
    -d '{"model": "support-agent", "max_tokens": 200, "stream": true, "messages": [{"role": "user", "content": "hi"}]}' \
    "$URL/v1/messages"
got=$(python3 - "$T/s3.txt" <<'PY'
import json, sys
names, text, stop, out = [], "", None, 0
for block in open(sys.argv[1]).read().split("\n\n"):
    if not block.strip():
        continue
    name = block.split("\n")[0].split(": ", 1)[1]
    d = json.loads(block.split("data: ", 1)[1])
    assert d["type"] == name, (name, d)
    if not names or names[-1] != name:
        names.append(name)
    if name == "content_block_delta":
        text += d["delta"]["text"]
    if name == "message_delta":
        stop, out = d["delta"]["stop_reason"], d["usage"]["output_tokens"]
print(" ".join(names)); print(text); print(stop, out > 0)
PY
)
expect_eq "$(sed -n 1p <<<"$got")" "message_start content_block_start content_block_delta content_block_stop message_delta message_stop" \
    "a Messages stream from Chat chunks"
expect_eq "$(sed -n 2p <<<"$got")" "claude with the release prompt and tools" "its text"
expect_eq "$(sed -n 3p <<<"$got")" "end_turn True" "its stop reason and output usage"
post /v1/messages '{"model": "support-agent", "max_tokens": 200, "top_k": 5, "messages": [{"role": "user", "content": "hi"}]}'
expect_eq "$status/$(jget 'd["type"]')/$(jget 'd["error"]["type"]')" 400/error/invalid_request_error "top_k is refused in the Messages error shape"
grep -q "top_k" <<<"$body" && ok "naming top_k" || bad "message: $body"

# Time to first token through the router next to the direct one (reported, not asserted).
ttfb() { curl -s -N --max-time 10 -o /dev/null -w '%{time_starttransfer}' -H 'Content-Type: application/json' -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' -d "$2" "$1"; }
direct=0 routed=0
for i in 1 2 3 4 5; do
    d=$(ttfb "http://127.0.0.1:$cl_PORT/v1/messages" '{"model": "claude-sonnet-4-20250514", "max_tokens": 300, "stream": true, "system": "the customer-support assistant of Northwind", "messages": [{"role": "user", "content": "tell me a long story"}]}')
    r=$(ttfb "$URL/v1/chat/completions" '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "tell me a long story"}]}')
    direct=$(python3 -c "print($direct + $d)") routed=$(python3 -c "print($routed + $r)")
done
echo "    # time to first byte of a stream, mean of 5: direct /v1/messages $(python3 -c "print(round($direct / 5 * 1000, 2))") ms, chat through the router translated $(python3 -c "print(round($routed / 5 * 1000, 2))") ms"
router_done
finish
