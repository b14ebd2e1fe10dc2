#!/usr/bin/env bash
# A good candidate goes 5 -> 25 -> 50 -> 100 with short holds while a background monitor
# watches real traffic through `slipway serve` (gateway mode, `slipway mock` as the provider):
# promoted in the store (stable := B, candidate cleared) and in the router (stable := B). A
# second run finds it promoted and changes nothing; a promotion interrupted between the store
# and the router is finished by the next run.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: canary-promote
vars: {router: "", token: "", candidate: ""}
stages:
  - id: watch
    uses: monitor
    background: true
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      interval: 200ms
      min_samples: 10
      metrics: [error_rate, latency_p95]
      thresholds: {latency_p95: {max_relative_increase: 1000.0}}
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      steps: [{weight: 0, shadow: 100, hold: 500ms}, 5, 25, {weight: 50, hold: 600ms, shadow: 0}, 100]
      hold: 400ms
      approve: canary.steps_done == 5 and canary.weight == 100
on_failure:
  - id: rollback
    uses: rollback
    with: {router: "${vars.router}", token_file: "${vars.token}", agent: support-agent}
YAML
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")

start_traffic
sw run "$T/pipeline.yaml" "${SETS[@]}"
stop_traffic
expect_rc 0 "the canary pipeline succeeds"
expect_out "step 1/5: 0% (shadow)" "step 1: shadow only"
expect_out "step 2/5: 5%" "step 2 at 5%"
expect_out "step 5/5: 100%" "step 5 at 100%"
admin GET "/admin/shadow?agent=support-agent"
n=$(jget 'len([p for p in d["pairs"] if p["shadow"]["version"] == "'"$B"'"])')
[ "${n:-0}" -ge 1 ] && ok "the shadow step mirrored traffic to B ($n pairs)" || bad "shadow pairs: $body"
expect_out "store: stable $A -> $B" "the store's stable is switched"
expect_out "router: stable is now $B" "then the router's"
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "d['outputs']['canary.promoted']['value']")" True "canary.promoted"
expect_eq "$(json "$R" "d['outputs']['canary.steps_done']['value']")" 5 "canary.steps_done"
expect_eq "$(json "$R" "d['outputs']['canary.final_weight']['value']")" 100.0 "canary.final_weight"
n=$(json "$R" "d['outputs']['canary.sessions_on_candidate']['value']")
[ "${n:-0}" -ge 1 ] && ok "sessions reached the candidate ($n)" || bad "sessions_on_candidate '$n'"
expect_eq "$(route_field 'd["stable"], d["candidate"], d["weight"], d["shadow"]')" "('$B', None, 0.0, None)" \
    "the route: B stable, no candidate, no shadow"
expect_eq "$(channel stable)/$(channel candidate)" "$B/None" "the store: B stable, no candidate"
# Cancelled as the run ended, the monitor returns OK with its last look.
verdict=$(json "$R" "d['outputs']['watch.verdict']['value']")
[ "$verdict" = pass ] || [ "$verdict" = inconclusive ] && ok "the monitor's verdict: $verdict" ||
    bad "watch.verdict '$verdict'"
looks=$(json "$R" "d['outputs']['watch.samples']['value']['candidate']")
[ "${looks:-0}" -ge 1 ] && ok "the monitor saw candidate requests ($looks)" || bad "watch.samples '$looks'"
expect_eq "$(json "$R" "'error_rate' in d['outputs']['watch.snapshot']['value']")" True \
    "the monitor's snapshot has error_rate"
# The canary's report section: the weight over time as a step chart, the figures, the events.
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "d['format'], d['title'], d['status']")" "(1, 'Canary', 'pass')" "report section: pass"
expect_eq "$(json "$S" "{i['label']: i['value'] for i in d['summary']}['promoted'], {i['label']: i['value'] for i in d['summary']}['final weight'], {i['label']: i['value'] for i in d['summary']}['steps done']")" \
    "('yes', '100%', '5 of 5')" "report section: promoted, 100%, 5 of 5 steps"
expect_eq "$(json "$S" "{i['label']: i['value'] for i in d['summary']}['approval']")" "Lua condition" \
    "report section: approved by the Lua condition"
expect_eq "$(json "$S" "[c['kind'] for c in d['charts']], [s['name'] for s in d['charts'][0]['series']]")" \
    "(['step'], ['candidate weight', 'shadow'])" "report section: a step chart of weight and shadow"
expect_eq "$(json "$S" "(lambda P: [p[1] for i, p in enumerate(P) if i == 0 or p[1] != P[i - 1][1]])(d['charts'][0]['series'][0]['points'])")" \
    "[0.0, 5.0, 25.0, 50.0, 100.0]" \
    "report section: the weights in order"
expect_eq "$(json "$S" "[e['label'].split(',')[0] for e in d['events'] if e['label'].startswith('step ')]")" \
    "['step 1/5: 0%', 'step 2/5: 5%', 'step 3/5: 25%', 'step 4/5: 50%', 'step 5/5: 100%']" \
    "report section: one event per step"
expect_eq "$(json "$S" "[e['label'] for e in d['events']][-2:]")" "['approved (Lua condition)', 'promoted $B']" \
    "report section: approval, then promotion"
expect_eq "$(ls "$(run_dir)/artifacts/canary")" "report-section.json" "no temporary file left beside it"

# Again: already promoted, nothing changes.
admin GET /admin/agents/support-agent/route
v1=$(jget 'd["version"]')
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 0 "a second run of the promoted canary"
expect_eq "$(route_field 'd["version"]')" "$v1" "the route was not changed"
expect_eq "$(json "$(run_dir)/report.json" "d['outputs']['canary.promoted']['value']")" True "still promoted"

# A run that died between the store and the router: the store says B, the router still A with
# B at 100%. The next run finishes the promotion on the router.
swr releases set support-agent stable "$A"
admin PUT /admin/agents/support-agent/route "{\"version\": $v1, \"stable\": \"$A\", \"candidate\": \"$B\", \"weight\": 100}"
expect_eq "$status" 200 "the route back at A with B at 100%"
swr releases set support-agent stable "$B"
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 0 "the resumed promotion"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "the router finished: B stable"
expect_no_out "step 1/5" "no step was repeated"
# Exposure cap: with at most one session on the candidate, the ramp stops after 5% (waiting out
# the step's hold for it to clear), the stage fails naming the cap, and on_failure rolls back.
swr releases set support-agent stable "$A"
swr releases set support-agent candidate "$B"
# A fresh router state: no pins left on B from when it was stable.
stop_router
rm -f "$T/router-state.json"
start_router "$T/router.yaml"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$A', None)" "a fresh router: A, no candidate"
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")
sed 's/hold: 400ms/hold: 400ms\n      max_candidate_sessions: 1/' "$T/pipeline.yaml" >"$T/capped.yaml"
start_traffic
sw run "$T/capped.yaml" "${SETS[@]}"
stop_traffic
expect_rc 1 "the capped canary fails"
expect_out "exposure cap: " "naming the cap"
expect_out "(max 1); stopped at " "and where it stopped"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "d['status'], {i['label']: i['value'] for i in d['summary']}['promoted']")" "('fail', 'no')" \
    "report section of the capped run: fail, not promoted"
expect_eq "$(json "$S" "any(e['label'].startswith('exposure cap at ') and e['status'] == 'warn' for e in d['events'])")" True \
    "report section: the wait at the cap"
expect_eq "$(json "$S" "d['events'][-1]['status'], 'exposure cap: ' in d['events'][-1]['label'], d['charts'][0]['marks'][-1]['label']")" \
    "('fail', True, 'stopped')" "report section: where and why it stopped"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$A', None)" "on_failure rolled back"
expect_eq "$(channel stable)/$(channel candidate)" "$A/None" "the store too"
router_done
finish
