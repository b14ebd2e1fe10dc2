#!/usr/bin/env bash
# Evidence-based promotion: a canary with `monitor:` ends a step only once the monitor says
# every guarded metric (one with a min_effect) had the samples to see its regression, or the
# step's evidence_wait runs out. With too little traffic the step is inconclusive and the
# canary follows `on_inconclusive` - rollback, hold for a human, or promote with a warning -
# never a silent pass. With enough traffic it promotes and says, per metric, what it could
# have detected and what it observed.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

# POLICY and EXTRA (more canary parameters) are filled in per case. error_rate is guarded at
# +50 points: a few dozen requests per side are enough to have seen that, none are not.
pipeline() {
    cat >"$T/pipeline.yaml" <<YAML
version: 1
name: canary-inconclusive
vars: {router: "", token: "", candidate: ""}
stages:
  - id: watch
    uses: monitor
    background: true
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      interval: 200ms
      min_samples: 5
      max_looks: 200
      spending: bonferroni
      metrics: [error_rate]
      min_effect: {error_rate: 0.5}
  - id: canary
    uses: canary
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      monitor: watch
      steps: [50, 100]
      hold: 300ms
      evidence_wait: $1
      on_inconclusive: $2
$3
on_failure:
  - id: rollback
    uses: rollback
    with: {router: "\${vars.router}", token_file: "\${vars.token}", agent: support-agent}
YAML
}
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")
section() { json "$(run_dir)/artifacts/canary/report-section.json" "$1"; }
output() { json "$(run_dir)/report.json" "d['outputs']['$1']['value']"; }

# No traffic, rollback: the stage fails naming the inconclusive step, on_failure rolls back.
pipeline 1500ms rollback ""
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "no traffic, on_inconclusive rollback: the run fails"
expect_out "inconclusive at 50%: after " "the reason names the step"
expect_out "on_inconclusive is rollback" "and the policy"
expect_out "error rate: could not yet detect +50.0 points with 80% power" \
    "the log says what the monitor could not yet see"
expect_no_out "step 2/2: 100%" "the ramp stopped at 50%"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$A', None)" "rolled back: A stable, no candidate"
expect_eq "$(channel stable)" "$A" "the store's stable is still A"
expect_eq "$(section "d['status'], {i['label']: i['value'] for i in d['summary']}['promoted']")" \
    "('fail', 'no')" "report section: fail, not promoted"
expect_eq "$(section "any(e['label'].startswith('waiting at 50% for the monitor') for e in d['events'])")" \
    True "report section: the wait for evidence"

# No traffic, hold, no one to ask: stopped, not passed.
swr releases set support-agent candidate "$B"
pipeline 1s hold ""
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "on_inconclusive hold without a human to ask: the run fails"
expect_out "neither approve_file nor approve_url is set" "saying there is no one to release it"

# Hold with an approval file nobody creates: it waits for the human, then gives up.
swr releases set support-agent candidate "$B"
pipeline 1s hold "      approve_file: $T/approved
      approve_timeout: 1s"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "on_inconclusive hold: waits for the approval file, none comes"
expect_out "waiting for the approval file $T/approved" "it asked the human"
expect_out "no approval ($T/approved) within 1000 ms" "and timed out"
expect_eq "$(channel stable)" "$A" "nothing was promoted"

# Enough traffic: the step ends on evidence and the promotion says what could be seen.
swr releases set support-agent candidate "$B"
pipeline 60s rollback ""
start_traffic
sw run "$T/pipeline.yaml" "${SETS[@]}"
stop_traffic
expect_rc 0 "with traffic the canary promotes on evidence"
# The evidence is enough once the power condition holds or +50 points is ruled out, whichever
# comes first (either may come before the 300 ms hold ends).
expect_out "evidence enough: error rate: " "the monitor said so"
grep -qE "info: error rate: (could detect \+[0-9.]+ points with 80% power|ruled out \+50.0 points \(upper bound [+-][0-9.]+ points, one-sided at level [0-9.e-]+\)); observed [+-][0-9.]+ points" <<<"$out" &&
    ok "at promotion: what it could detect or rule out and what it observed" || bad "no evidence line at promotion"
expect_eq "$(output canary.promoted)/$(output canary.evidence)" "True/enough" "promoted, evidence enough"
expect_eq "$(output watch.evidence)" "enough" "the monitor's evidence output"
expect_eq "$(json "$(run_dir)/report.json" "sorted(d['outputs']['watch.evidence_detail']['value']['error_rate'])")" \
    "['detectable', 'enough', 'level', 'line', 'min_effect', 'n_baseline', 'n_candidate', 'observed', 'power', 'required', 'required_candidate', 'ruled_out', 'test', 'unit', 'upper']" \
    "evidence_detail per metric"
expect_eq "$(section "d['status']")" "pass" "report section: pass"
expect_eq "$(section "any(e['label'].startswith(('error rate: could detect', 'error rate: ruled out')) and e['status'] == 'pass' for e in d['events'])")" \
    True "report section: the evidence line"

# No traffic, promote: it goes on, but says so in the log, the journal and the report.
swr releases set support-agent stable "$A"
swr releases set support-agent candidate "$B"
stop_router
rm -f "$T/router-state.json"
start_router "$T/router.yaml"
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")
pipeline 1s promote ""
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 0 "no traffic, on_inconclusive promote: the run succeeds"
expect_out "going on at 50% without enough evidence (on_inconclusive: promote)" "with a warning at 50%"
expect_out "promoted without enough evidence at 2 step(s) (on_inconclusive: promote)" \
    "and at promotion"
expect_eq "$(output canary.promoted)/$(output canary.evidence)" "True/inconclusive" \
    "promoted, evidence inconclusive"
J="$(run_dir)/journal.jsonl"
n=$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads, open(sys.argv[1])) if e.get("level") == "warn" and "without enough evidence" in e.get("message", "")))' "$J")
[ "${n:-0}" -ge 2 ] && ok "the journal has the warnings ($n)" || bad "journal warnings: $n"
expect_eq "$(section "d['status']")" "warn" "report section: warn, not pass"
grep -q "without enough evidence at 2 step(s)" <<<"$(section "d['text'] if 'text' in d else d")" &&
    ok "report section: the closing sentence says so" || bad "report section text: $(section "d.get('text')")"
router_done
finish
