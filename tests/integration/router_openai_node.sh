#!/usr/bin/env bash
# The official `openai` client library from the npm registry drives the router, streaming and not.
# Skipped (77) when node, npm or the registry is not available.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

command -v node >/dev/null && command -v npm >/dev/null || { echo "skip: node or npm not installed"; exit 77; }
mkdir -p "$T/node"
cp "$FIX/openai_client.mjs" "$T/node/"
(cd "$T/node" && echo '{"name": "router-test", "private": true, "type": "module"}' >package.json &&
    timeout 180 npm install --no-audit --no-fund --loglevel=error openai@4 >"$T/npm.log" 2>&1) ||
    { echo "skip: npm install openai failed (no registry?)"; tail -5 "$T/npm.log"; exit 77; }

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
(cd "$T/node" && timeout 60 node openai_client.mjs "$URL/v1") >"$T/node.txt" 2>&1
node_rc=$?
while read -r line; do
    case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) out=""; bad "${line#not ok - }" ;;
    *) echo "    # $line" ;;
    esac
done <"$T/node.txt"
expect_eq "$node_rc" 0 "the node program exits 0"
router_done
finish
