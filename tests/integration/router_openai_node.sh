#!/usr/bin/env bash
# The official `openai` client library from the npm registry drives the router, streaming and not.
# Skipped (77) when node, npm or the registry is not available.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

node_packages openai@4

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
node_checks openai_client.mjs "$URL/v1"
router_done
finish
