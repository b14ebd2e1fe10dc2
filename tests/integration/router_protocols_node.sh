#!/usr/bin/env bash
# The official npm clients of the other two protocols drive the router in service mode, streaming
# and not: `openai` (client.responses.create, client.responses.stream, a conversation continued
# with previous_response_id) and `@anthropic-ai/sdk` (messages.create, messages.stream, a tool use
# round trip); then the same clients in gateway mode, natively and translated (gateway_client.mjs).
# Skipped (77) when node, npm or the registry is not available.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

node_packages openai@4 @anthropic-ai/sdk@1

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=50 two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
node_checks protocols_client.mjs "$URL"
metrics=$(curl -s "$URL/metrics")
requests=$(awk '/^slipway_requests_total/ {n += $NF} END {print n}' <<<"$metrics")
# 2 + 6 conversations of 3 turns through openai, 5 through anthropic (the 404s are not routed).
expect_eq "$requests" 25 "the router counted every request the clients made"
router_done

# ---- gateway mode: the same clients, the release applied by the router ----
start_mock cl "$FIX/claude.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
sed -i '/^  seed: 7$/d' "$T/bundle/agent.yaml" # the Responses API has no seed
swr releases create "$T/bundle" --allow-dirty --json
O=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
sed -i 's/provider: openai/provider: anthropic/; s/gpt-4o-2024-08-06/claude-sonnet-4-20250514/' "$T/bundle/agent.yaml"
swr releases create "$T/bundle" --allow-dirty --json
C=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
out=""
cat >"$T/gw.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/gw-state.json
store: $SLIPWAY_STATE_DIR
providers:
  openai: {base_url: "http://127.0.0.1:$cl_PORT/v1"}
  anthropic: {base_url: "http://127.0.0.1:$cl_PORT/v1"}
agents:
  support-agent:
    mode: gateway
    route: {stable: "$O"}
YAML
start_router "$T/gw.yaml"
node_checks gateway_client.mjs "$URL" openai
admin PUT /admin/agents/support-agent/route '{"version": 1, "stable": "'"$C"'"}'
expect_eq "$status" 200 "the Claude release is stable"
node_checks gateway_client.mjs "$URL" anthropic
router_done
finish
