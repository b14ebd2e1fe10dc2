#!/usr/bin/env bash
# The canary honours a background monitor's signals (`monitor: <id>`): while <id>.hold is true
# the weight does not go up (the wait is cancellable and bounded by hold_max, then the stage
# fails naming the monitor); the growth of <id>.extend_ms during a step lengthens that step's
# hold; a monitor that never wrote them holds nothing. The `signal` test plugin stands in for the
# monitor, driven by files, so nothing here depends on timing.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

# pipeline SIGNAL_WITH CANARY_WITH: a background `signal` stage `sig` beside a canary watching it.
pipeline() {
    cat >"$T/pipeline.yaml" <<YAML
version: 1
name: canary-signals
vars: {router: "", token: "", candidate: ""}
stages:
  - id: sig
    uses: signal
    background: true
    with: {$1}
  - id: canary
    uses: canary
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      hold: 100ms
$2
YAML
}
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")

# reset: A stable with no candidate, in the router and the store.
reset() {
    admin PUT /admin/agents/support-agent/route \
        "{\"version\": $(route_field 'd["version"]'), \"stable\": \"$A\", \"candidate\": null, \"weight\": 0, \"shadow\": null}"
    swr releases set support-agent stable "$A"
    swr releases set support-agent candidate "$B"
}

# start_run: the pipeline in the background, its output in $T/run.out.
start_run() {
    rm -f "$T/run.out"
    "$SLIPWAY" run "$T/pipeline.yaml" "${SETS[@]}" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
    run_pid=$!
    PIDS+=($run_pid)
}
# wait_out TEXT: up to 20 s for the run's output to show TEXT.
wait_out() {
    local i
    for i in $(seq 1 400); do
        grep -qF -- "$1" "$T/run.out" && return 0
        sleep 0.05
    done
    return 1
}
end_run() {
    wait "$run_pid"
    rc=$?
    out=$(cat "$T/run.out")
}

# 1. Held, then released: the weight stays where the hold found it until hold goes false.
pipeline "hold: true, release_file: $T/release" "      steps: [10, 50, 100]
      monitor: sig"
start_run
if wait_out "monitor 'sig' holds the canary at "; then ok "the canary waits for the monitor"; else bad "no hold seen"; fi
held_at=$(sed -n "s/.*monitor 'sig' holds the canary at \([0-9.]*\)%.*/\1/p" "$T/run.out" | head -n 1)
sleep 0.5 # time for a canary that ignored the hold to raise the weight
expect_eq "$(route_field 'd["weight"]')" "$(python3 -c "print(float('$held_at'))")" \
    "the weight did not go up while held (at $held_at%)"
touch "$T/release"
end_run
expect_rc 0 "released, the canary goes on and promotes"
expect_out "monitor 'sig' released the hold" "the release is logged"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "promoted"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "[e['status'] for e in d['events'] if e['label'].startswith(\"monitor 'sig' holds at \")]")" "['warn']" \
    "the report section shows the hold"
expect_eq "$(json "$S" "any(e['label'] == \"monitor 'sig' released the hold\" for e in d['events'])")" True \
    "and its release"

# 2. Held for longer than hold_max: the stage fails naming the monitor and the wait.
reset
pipeline "hold: true" "      steps: [10, 100]
      monitor: sig
      hold_max: 300ms"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "a hold past hold_max fails the run"
expect_out "monitor 'sig' held the canary at " "naming the monitor"
expect_out "(hold_max) before step " "and the wait"
expect_eq "$(route_field 'd["stable"]')" "$A" "nothing promoted"

# 3. Cancelled while held: the wait stops at once; the run is interrupted (resumable).
reset
pipeline "hold: true" "      steps: [10, 100]
      monitor: sig"
start_run
wait_out "monitor 'sig' holds the canary at " && ok "held again" || bad "no hold seen"
kill -INT "$run_pid"
end_run
expect_rc 3 "interrupted while held"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "d['events'][-1]['label'].startswith('cancelled at '), d['status']")" "(True, 'fail')" \
    "the report section ends with the cancel"

# 4. extend_ms grows during a step: that step's hold is lengthened by the growth.
reset
pipeline "hold: false, extend: 700, extend_file: $T/extend" "      steps: [{weight: 10, hold: 5s}, 100]
      monitor: sig"
start_run
wait_out "step 1/2: 10%, holding 5000 ms" && ok "step 1 holds" || bad "step 1 not seen"
touch "$T/extend"
end_run
expect_rc 0 "the extended canary completes"
expect_out "monitor 'sig' asks for 700 ms more: the hold at 10% is now 5700 ms" "the step's hold is lengthened"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "[e['label'] for e in d['events'] if 'extended' in e['label']]")" \
    "[\"hold at 10% extended by 700 ms (monitor 'sig')\"]" "the report section shows the extension once"

# 5. A monitor that never wrote its signals (not started, or not looked yet) holds nothing.
reset
pipeline "hold: false" "      steps: [100]
      monitor: nobody"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 0 "no signal: no hold"
expect_no_out "holds the canary" "nothing waited"
router_done
finish
