#!/usr/bin/env bash
# `slipway serve` stopped (SIGTERM) while `slipway traffic` keeps its keep-alive connections
# busy: requests still arriving as it stops are answered 503 rather than suspended, so MHD never
# stops with a suspended connection (it aborts the process when it does), and the exit is clean.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$SW_SOURCE_DIR/pipelines/demo/mock.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json
expect_rc 0 "a release"
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
gateway_config "$T/router.yaml"
for round in 1 2 3 4 5 6 7 8; do
    start_router "$T/router.yaml"
    "$SLIPWAY" traffic --router "$URL" --agent support-agent --users 32 --rate 400 --duration 5s \
        --seed "$round" --tools "$T/bundle/tools" >"$T/traffic.out" 2>&1 &
    tpid=$!
    PIDS+=($tpid)
    # Stop it at a different moment of the traffic each round.
    sleep "0.$((round * 11 % 9 + 1))"
    stop_router
    expect_eq "$stop_rc" 0 "round $round: the router stops cleanly under traffic"
    kill "$tpid" 2>/dev/null
    wait "$tpid" 2>/dev/null
done
grep -q "sessions by version: $A: [1-9]" "$T/traffic.out" && ok "the last round's traffic was served by release A" ||
    bad "no traffic served: $(cat "$T/traffic.out")"
grep -q "Fatal error in GNU libmicrohttpd" "$T/router.log" && bad "MHD aborted" || ok "no MHD abort in the log"
finish
