#!/usr/bin/env bash
# Gateway mode: the router applies a release from the store (system prompt, pinned model, tools,
# parameters) and calls the provider; the client sends only its conversation.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock gw "$FIX/provider.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "release A"
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
printf '\nCANARY MARK: this line is new in release B.\n' >>"$T/bundle/prompts/system.md"
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "release B"
B=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
out=""
[ -n "$A" ] && [ "$A" != "$B" ] && ok "two releases ($A, $B)" || bad "release ids '$A' '$B'"

cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
store: $SLIPWAY_STATE_DIR
providers:
  openai: {base_url: "http://127.0.0.1:$gw_PORT/v1", api_key_env: SW_TEST_PROVIDER_KEY}
agents:
  support-agent:
    mode: gateway
    route: {stable: "$A", candidate: "$B", weight: 0}
YAML
SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key start_router "$T/router.yaml"

chat "g1" "where is my order?"
expect_eq "$status" 200 "a request through the gateway"
expect_eq "$version" "$A" "the stable release answers"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "release prompt and tools" "the provider got the release's system prompt and tools"
expect_eq "$(jget 'd["model"]')" gpt-4o-2024-08-06 "the model is the release's pinned one"
grep -q "You are the customer-support" <<<"$body" && bad "the prompt leaked to the client" || ok "the client never sees the prompt"

admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 100}'
expect_eq "$status" 200 "candidate at 100%"
chat "g2" "hello"
expect_eq "$version" "$B" "a new session gets release B"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "canary prompt and tools" "with B's prompt"
chat "g1" "and me?"
expect_eq "$version" "$A" "the pinned session stays on A"

# Streaming through the gateway, with usage counted and priced from the release.
curl -s -N --max-time 10 -o "$T/gs.txt" -H 'x-slipway-session: g3' \
    -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "hi"}]}' "$URL/v1/chat/completions"
grep -q "canary prompt" "$T/gs.txt" && ok "a gateway stream" || bad "gateway stream: $(head -c 300 "$T/gs.txt")"
cost=$(metric "slipway_cost_total{agent=\"support-agent\",version=\"$B\"}")
python3 -c "import sys; sys.exit(0 if float('$cost') > 0 else 1)" && ok "cost from the release's prices ($cost)" || bad "cost $cost"

# Shadow to A from B's sessions: pairs compare the two releases' answers.
admin PUT /admin/agents/support-agent/route "{\"version\": 2, \"shadow\": {\"version\": \"$A\", \"percent\": 100}}"
chat "g4" "compare us"
for i in $(seq 1 100); do
    admin GET "/admin/shadow?agent=support-agent"
    [ "$(jget 'len(d["pairs"])')" -ge 1 ] && break
    sleep 0.05
done
expect_eq "$(jget 'd["pairs"][0]["shadow"]["text"]')" "release prompt and tools" "the shadow got its own release applied"
expect_eq "$(jget 'd["pairs"][0]["text_differs"]')" True "and the texts differ"

# A version that is no release is refused.
admin PUT /admin/agents/support-agent/route '{"version": 3, "candidate": "0000deadbeef"}'
expect_eq "$status" 400 "an unknown release is refused"
grep -q "0000deadbeef" <<<"$body" && ok "and named" || bad "message: $body"
# A channel name is frozen to the id it names.
admin PUT /admin/agents/support-agent/route '{"version": 3, "stable": "support-agent:'"$B"'", "candidate": null}'
out=""
expect_eq "$status" 200 "AGENT:ID as a version"
expect_eq "$(jget 'd["versions"]["support-agent:'"$B"'"]["release"]')" "$B" "resolved to the release id"
router_done
finish
