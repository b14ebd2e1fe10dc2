#!/usr/bin/env bash
# SIGTERM while each stage of a pipeline runs, one stage per round: versioning,
# eval against `slipway mock`, a Lua stage, a monitor and a canary against `slipway serve`.
# Each round waits for the stage's stage_start in the journal, sends SIGTERM,
# and expects exit 3, a consistent checkpoint (the stages before it succeeded,
# it and those after it pending, the files parse, `runs show` reads it) and a
# `slipway resume` that runs to the end with every stage succeeded.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

# The model the eval stage calls: slow enough that SIGTERM lands mid-stage.
cat >"$T/eval-model.yaml" <<'YAML'
seed: 3
defaults:
  latency: 150ms
  respond: {text: "Your order is on its way."}
YAML
: >"$T/cases.jsonl"
for i in 1 2 3 4 5 6 7 8; do
    printf '{"id": "c%d", "input": "Where is order %d?", "assert": [{"type": "icontains", "value": "on its way"}]}\n' "$i" "$i" >>"$T/cases.jsonl"
done
start_mock evalm "$T/eval-model.yaml"
start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: sigterm-stages
vars: {bundle: "", base_url: "", dataset: "", router: "", token: "", candidate: ""}
stages:
  - id: release
    uses: versioning
    with: {bundle: "${vars.bundle}", allow_dirty: true}
  - id: golden
    uses: eval
    with:
      release: ${release.manifest}
      dataset: ${vars.dataset}
      base_url: ${vars.base_url}
      concurrency: 1
    gate: golden.pass_rate == 1
  - id: policy
    uses: lua
    with:
      outputs: {n: int}
      timeout: 1h
      code: |
        function run(ctx)
          local n = 0
          for i = 1, 60000000 do n = n + 1 end
          return {n = n}
        end
  - id: watch
    uses: monitor
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      interval: 200ms
      duration: 1500ms
      metrics: [error_rate]
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      steps: [5, 50, 100]
      hold: 700ms
YAML

# check_run ID STAGE: the checkpoint of a run stopped in STAGE is consistent.
check_run() {
    python3 - "$SLIPWAY_STATE_DIR/runs/$1" "$2" <<'PY'
import json, sys
d, stage = sys.argv[1], sys.argv[2]
order = ["release", "golden", "policy", "watch", "canary"]
ck = json.load(open(d + "/context.json"))
rep = json.load(open(d + "/report.json"))
states = {s["id"]: s["state"] for s in ck["stages"]}
assert rep["status"] == "interrupted", rep["status"]
i = order.index(stage)
for s in order[:i]:
    assert states.get(s) == "succeeded", (s, states)
for s in order[i + 1:]:
    assert states.get(s, "pending") == "pending", (s, states)
assert states.get(stage, "pending") in ("pending", "succeeded"), (stage, states)
for line in open(d + "/journal.jsonl"):
    json.loads(line)
PY
}

for stage in release golden policy watch canary; do
    # A fresh route and channels: A stable, B the candidate.
    [ -n "${ROUTER_PID:-}" ] && stop_router
    rm -f "$T/router-state.json"
    swr releases set support-agent stable "$A"
    swr releases set support-agent candidate "$B"
    start_router "$T/router.yaml"

    before=$(ls "$SLIPWAY_STATE_DIR/runs" 2>/dev/null | sort | tail -n 1)
    "$SLIPWAY" run "$T/pipeline.yaml" --set "vars.bundle=$T/bundle" \
        --set "vars.base_url=http://127.0.0.1:$evalm_PORT/v1" --set "vars.dataset=$T/cases.jsonl" \
        --set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B" \
        --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
    pid=$!
    started=""
    for _ in $(seq 1 400); do
        j=$(ls "$SLIPWAY_STATE_DIR/runs" 2>/dev/null | sort | tail -n 1)
        [ "$j" = "$before" ] && j=""
        j=${j:+$SLIPWAY_STATE_DIR/runs/$j}
        if [ -n "$j" ] && grep -qF "\"event\":\"stage_start\",\"stage\":\"$stage\"" "$j/journal.jsonl" 2>/dev/null; then
            started=1
            break
        fi
        sleep 0.025
    done
    kill -TERM $pid
    wait $pid
    rc=$?
    out=$(cat "$T/run.out")
    [ -n "$started" ] && ok "$stage: started" || bad "$stage: never started"
    expect_rc 3 "$stage: SIGTERM while it runs"
    id=$(last_run)
    if err=$(check_run "$id" "$stage" 2>&1); then ok "$stage: the checkpoint is consistent"; else out=$err; bad "$stage: inconsistent checkpoint"; fi
    # Informational: whether the signal landed mid-stage (versioning takes milliseconds).
    state=$(json "$SLIPWAY_STATE_DIR/runs/$id/context.json" "[s['state'] for s in d['stages'] if s['id'] == '$stage'] or ['pending']" 2>/dev/null)
    echo "# $stage: state at the interruption: $state"
    sw runs show "$id"
    expect_rc 0 "$stage: the stopped run can be shown"
    sw resume "$id"
    expect_rc 0 "$stage: resume runs to the end"
    expect_eq "$(json "$SLIPWAY_STATE_DIR/runs/$id/context.json" '[s["state"] for s in d["stages"]]')" \
        "['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']" "$stage: every stage succeeded"
    expect_eq "$(json "$SLIPWAY_STATE_DIR/runs/$id/context.json" 'd["values"]["policy.n"]["value"]')" \
        "60000000" "$stage: the Lua stage's output is there"
    expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "$stage: the canary promoted"
done
router_done
finish
