#!/usr/bin/env bash
# Provider errors injected for the candidate only, during a canary: `slipway mock` fails 60% of
# the requests carrying release B's prompt. The router counts them against B (its stats show
# B's 5xx errors, none on A), the counts agree with what the clients saw and with what the mock
# injected, nothing crashes, and the canary (no monitor here: canary_rollback.sh has the monitor
# rolling such a candidate back) keeps its route and finishes its steps.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_bad.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: canary-provider-errors
vars: {router: "", token: "", candidate: ""}
stages:
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      steps: [{weight: 50, hold: 1s, min_sessions: 10}]
      promote: false
YAML
since=$(python3 -c 'import time; print(int(time.time() * 1000) - 1000)')
"$SLIPWAY" run "$T/pipeline.yaml" --set "vars.router=$URL" --set "vars.token=$T/token" \
    --set "vars.candidate=$B" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
run_pid=$!
PIDS+=($run_pid)
for _ in $(seq 1 400); do
    [ "$(route_field 'd["weight"]')" = "50.0" ] && break
    sleep 0.05
done
expect_eq "$(route_field 'd["candidate"], d["weight"]')" "('$B', 50.0)" "the canary sends 50% to B"

# Traffic: new sessions, each answer's version and status noted.
: >"$T/seen.txt"
for i in $(seq 1 80); do
    chat "user-$i" "where is my order?"
    echo "${version:-none} $status" >>"$T/seen.txt"
done
count() { awk -v v="$1" -v e="$2" '$1 == v && ((e == "err" && $2 >= 500) || (e == "ok" && $2 == 200) || e == "all") {n++} END {print n + 0}' "$T/seen.txt"; }
b_all=$(count "$B" all)
b_err=$(count "$B" err)
a_all=$(count "$A" all)
a_err=$(count "$A" err)
expect_eq "$(awk '$1 == "none" || ($2 != 200 && $2 < 500)' "$T/seen.txt" | wc -l)" 0 \
    "every answer came from A or B, as a 200 or a 5xx"
[ "$b_err" -ge 1 ] && [ "$b_err" -lt "$b_all" ] && ok "B failed some of its requests ($b_err of $b_all)" ||
    bad "B: $b_err errors of $b_all"
expect_eq "$a_err" 0 "A failed none ($a_all requests)"

wait "$run_pid"
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "the canary (no monitor) finishes its step"
expect_eq "$(route_field 'd["stable"], d["candidate"], d["weight"]')" "('$A', '$B', 50.0)" \
    "promote: false leaves B at 50%"

# The router's stats: B's errors on B, none on A, the same numbers the clients saw.
stats() {
    admin GET "/admin/stats?agent=support-agent&since=$since"
    jget "$1"
}
for _ in $(seq 1 100); do
    [ "$(stats "d['versions'].get('$B', {}).get('requests', 0) + d['versions'].get('$A', {}).get('requests', 0)")" = 80 ] && break
    sleep 0.05
done
expect_eq "$(stats "d['versions']['$B']['requests'], d['versions']['$B']['errors']['5xx']")" "($b_all, $b_err)" \
    "the router counts B's requests and 5xx errors"
expect_eq "$(stats "d['versions']['$A']['requests'], sum(d['versions']['$A']['errors'].values())")" "($a_all, 0)" \
    "and no error against A"
expect_eq "$(stats "round(d['versions']['$B']['error_rate'] * $b_all)")" "$b_err" "B's error_rate is errors / requests"
# The mock injected exactly the errors the router counted.
mock=$(curl -s --max-time 10 "http://127.0.0.1:$gw_PORT/mock/stats")
expect_eq "$(printf '%s' "$mock" | python3 -c 'import json,sys; print(json.load(sys.stdin)["injected"]["500"])')" "$b_err" \
    "the mock injected as many 500s as the router counted"
admin GET /admin/agents/support-agent/route
expect_eq "$status" 200 "the router is still up"
router_done
finish
