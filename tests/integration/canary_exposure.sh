#!/usr/bin/env bash
# Exposure caps: with `max_exposure: N` at most N sessions see the candidate before the monitor
# has the evidence to detect every guarded metric's min_effect. The canary never leaves its
# first step above 0% before that evidence, so the cap is kept there: reached without the
# evidence, the stage fails (on_failure rolls back), naming the metric and about how many
# sessions it would need. A plan that cannot keep the cap is refused when the stage starts.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

# pipeline MIN_EFFECT STEPS CANARY-EXTRA: the monitor guards error_rate at MIN_EFFECT.
pipeline() {
    cat >"$T/pipeline.yaml" <<YAML
version: 1
name: canary-exposure
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
      max_looks: 100
      spending: bonferroni
      metrics: [error_rate]
      min_effect: {error_rate: $1}
  - id: canary
    uses: canary
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      steps: $2
      hold: 300ms
      evidence_wait: 60s
      on_inconclusive: rollback
$3
on_failure:
  - id: rollback
    uses: rollback
    with: {router: "\${vars.router}", token_file: "\${vars.token}", agent: support-agent}
YAML
}
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")
output() { json "$(run_dir)/report.json" "d['outputs']['$1']['value']"; }

# Plans that cannot keep a cap, refused before any session sees the candidate.
pipeline 0.5 "[50, 100]" "      max_exposure: 40"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "max_exposure without a monitor: refused"
expect_out "max_exposure 40: needs monitor" "saying it needs the monitor"
pipeline 0.5 "[{weight: 0, shadow: 100, hold: 300ms}, 100]" "      monitor: watch
      max_exposure: 40"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "a first step above 0% at 100%: refused"
expect_out "max_exposure 40: steps[1] is the first step above 0% and sends every session to the candidate" \
    "saying which step and why"
pipeline 0.5 "[50, 100]" "      monitor: watch
      max_exposure: -3"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "a negative max_exposure: refused"
expect_out "max_exposure and min_sessions cannot be negative" "saying so"
expect_eq "$(route_field 'd["candidate"]')" "None" "none of them reached the router"

# +1 point of errors needs thousands of sessions; the cap is 200: stopped at the cap, with the
# sample size (the monitor sets its evidence_detail at once when a metric first has one).
pipeline 0.01 "[50, 100]" "      monitor: watch
      max_exposure: 200"
swr releases set support-agent candidate "$B"
start_traffic
sw run "$T/pipeline.yaml" "${SETS[@]}"
stop_traffic
expect_rc 1 "the cap reached before the evidence: the run fails"
grep -qE "exposure cap: [0-9]+ sessions saw the candidate \(max_exposure 200\) before monitor 'watch' had the evidence to detect its min_effect: error_rate needs about [0-9]+ candidate samples \(has [0-9]+\), about [0-9]+ sessions at this traffic; stopped at 50%" <<<"$out" &&
    ok "the reason: the cap, the metric, the sessions it would need" || bad "no exposure cap reason in: $out"
expect_no_out "step 2/2: 100%" "the ramp never went past 50%"
seen=$(grep -oE "exposure cap: [0-9]+ sessions" <<<"$out" | head -1 | grep -oE "[0-9]+")
[ "${seen:-0}" -ge 200 ] && [ "$seen" -lt 300 ] && ok "stopped at $seen sessions, soon after the cap" ||
    bad "stopped at ${seen:-?} sessions"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$A', None)" "rolled back: A stable, no candidate"

# +50 points needs a few dozen sessions: the evidence comes before the cap, and it promotes.
pipeline 0.5 "[50, 100]" "      monitor: watch
      max_exposure: 2000"
swr releases set support-agent candidate "$B"
start_traffic
sw run "$T/pipeline.yaml" "${SETS[@]}"
stop_traffic
expect_rc 0 "the evidence before the cap: promoted"
expect_no_out "exposure cap" "the cap never reached"
expect_eq "$(output canary.promoted)/$(output canary.evidence)" "True/enough" "promoted on evidence"
router_done
finish
