#!/usr/bin/env bash
# The official npm clients of the other two protocols drive the router in service mode, streaming
# and not: `openai` (client.responses.create, client.responses.stream, a conversation continued
# with previous_response_id) and `@anthropic-ai/sdk` (messages.create, messages.stream, a tool use
# round trip). Skipped (77) when node, npm or the registry is not available.
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
finish
