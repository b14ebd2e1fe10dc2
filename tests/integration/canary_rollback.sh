#!/usr/bin/env bash
# A regressed candidate: the mock provider fails 60% of the requests that carry release B's
# prompt. During the canary's 50% step the background monitor's rollback_when (Lua over m.*)
# fires; the runner stops the canary and on_failure's rollback stage routes everything back to
# A with drain and clears the store's candidate. Running the rollback again changes nothing;
# `slipway rollback` shares the code. A second pipeline breaches on the statistical test
# (Fisher / z with alpha spending) and names the test, both values and the threshold.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_bad.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

# pipeline FILE MONITOR_WITH: a canary watched by a monitor configured by MONITOR_WITH (YAML
# lines under `with:`), rolled back in on_failure.
pipeline() {
    cat >"$1" <<YAML
version: 1
name: canary-rollback
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
$2
  - id: canary
    uses: canary
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      steps: [5, {weight: 50, hold: 60s}, 100]
      hold: 300ms
on_failure:
  - id: rollback
    uses: rollback
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      sessions: drain
      monitor: watch
YAML
}
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")

pipeline "$T/lua.yaml" "      min_samples: 1000000
      metrics: []
      rollback_when: m.candidate.requests >= 20 and m.candidate.error_rate > m.baseline.error_rate + 0.2"
start_traffic
sw run "$T/lua.yaml" "${SETS[@]}"
stop_traffic
expect_rc 1 "the regressed canary fails"
expect_out "rollback_when (m.candidate.requests >= 20" "the reason names the condition"
expect_out "background stage 'watch' failed" "the monitor stopped the canary"
expect_no_out "step 3/3" "the canary never reached 100%"
# The canary's report section says where the cancel came: in the 50% step's hold.
CS="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$CS" "d['status'], {i['label']: i['value'] for i in d['summary']}['promoted'], {i['label']: i['value'] for i in d['summary']}['steps done']")" \
    "('fail', 'no', '1 of 3')" "canary report section: fail, not promoted, 1 of 3 steps"
expect_eq "$(json "$CS" "d['events'][-1]['status'], d['events'][-1]['label'].startswith('cancelled at 50%: '), d['charts'][0]['marks'][-1]['label']")" \
    "('warn', True, 'cancelled')" "canary report section: the cancel at 50%"
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "d['outputs']['watch.verdict']['value']")" fail "watch.verdict is fail"
expect_eq "$(json "$R" "d['outputs']['rollback.to']['value']")" "$A" "rolled back to A"
expect_eq "$(json "$R" "d['outputs']['rollback.sessions_policy']['value']")" drain "with drain"
expect_eq "$(json "$R" "d['outputs']['rollback.already']['value']")" False "it did something"
aff=$(json "$R" "d['outputs']['rollback.sessions_affected']['value']")
[ "${aff:--1}" -ge 1 ] && ok "pinned candidate sessions drained ($aff)" || bad "sessions_affected '$aff'"
b2z=$(json "$R" "d['outputs']['rollback.breach_to_zero_ms']['value']")
det=$(json "$R" "d['outputs']['rollback.detection_ms']['value']")
python3 -c "import sys; sys.exit(0 if float('$b2z') >= 0 and float('$det') > 0 else 1)" &&
    ok "breach to 0% candidate: $b2z ms; detection: $det ms" || bad "times '$b2z' '$det'"
expect_eq "$(route_field 'd["stable"], d["candidate"], d["weight"]')" "('$A', None, 0.0)" \
    "the route: A stable, no candidate"
expect_eq "$(route_field 'd["retired"]')" "{'$B': 'drain'}" "B is retired, draining"
expect_eq "$(channel stable)/$(channel candidate)" "$A/None" "the store: A stable, candidate cleared"
# The rollback's section of the run report.
python3 - "$(run_dir)/artifacts/rollback/report-section.json" "$A" "$B" <<'PY' && ok "the report section: what, to what, how fast, and the timeline" || bad "rollback report-section.json"
import json, sys
s = json.load(open(sys.argv[1]))
A, B = sys.argv[2:4]
assert s["format"] == 1 and s["title"] == "Rollback" and s["status"] == "fail", s
summary = {i["label"]: i["value"] for i in s["summary"]}
assert summary["agent"] == "support-agent" and summary["rolled back to"] == A, summary
assert summary["candidate"] == B and summary["session policy"] == "drain", summary
assert int(summary["sessions drained"]) >= 1, summary
for k in ("detection time", "switch time", "breach to 0% candidate"):
    assert summary[k].endswith(" ms") and float(summary[k][:-3]) >= 0, (k, summary)
assert float(summary["detection time"][:-3]) > 0, summary
ev = {e["label"]: e for e in s["events"]}
breach = ev["breach detected by 'watch'"]
switch = ev["route switched to stable %s (sessions drain)" % A]
cleared = ev["candidate channel cleared (%s)" % B]
assert breach["status"] == "fail" and all(isinstance(e["t"], int) for e in s["events"]), s["events"]
assert breach["t"] <= switch["t"] <= cleared["t"], s["events"]
assert "rollback_when" in s["text"], s["text"]
PY

# New sessions go to A only now.
chat "after-rollback" "hello"
expect_eq "$version" "$A" "a new session gets A"

# The rollback stage again (a resumed run that died inside it): nothing to do.
cat >"$T/again.yaml" <<'YAML'
version: 1
name: rollback-again
vars: {router: "", token: "", candidate: ""}
stages:
  - id: rollback
    uses: rollback
    with: {router: "${vars.router}", token_file: "${vars.token}", agent: support-agent,
           candidate: "${vars.candidate}", sessions: drain}
YAML
admin GET /admin/agents/support-agent/route
v1=$(jget 'd["version"]')
sw run "$T/again.yaml" "${SETS[@]}"
expect_rc 0 "the rollback stage run again"
expect_eq "$(json "$(run_dir)/report.json" "d['outputs']['rollback.already']['value']")" True "already rolled back"
expect_eq "$(json "$(run_dir)/artifacts/rollback/report-section.json" "d['status'], [e['label'] for e in d['events']]")" \
    "('info', ['rollback: nothing left to do'])" "the report section says there was nothing to do"
expect_eq "$(route_field 'd["version"]')" "$v1" "the route was not touched"
expect_eq "$(channel stable)/$(channel candidate)" "$A/None" "the store unchanged"

# The human's command shares the code.
swr rollback support-agent --router "$URL" --token-file "$T/token"
expect_rc 0 "slipway rollback when nothing is out"
expect_out "already serves only $A" "the router is already rolled back"
expect_out "nothing to do" "the store too"
swr rollback support-agent --router "$URL" --token-file /nonexistent/token
expect_rc 2 "a missing token file is a usage error"
swr rollback support-agent --router "$URL" --sessions sideways
expect_rc 2 "an unknown session policy"

# The statistical breach: both sides' error rates compared by a test at the look's level.
swr releases set support-agent candidate "$B"
pipeline "$T/stats.yaml" "      min_samples: 20
      max_looks: 50
      spending: obrien-fleming
      metrics: [error_rate]"
start_traffic
sw run "$T/stats.yaml" "${SETS[@]}"
stop_traffic
expect_rc 1 "the statistical monitor fails the canary"
printf '%s\n' "$out" | grep -m1 "error_rate: candidate" | sed 's/^/# /' 
expect_out "error_rate: candidate" "the reason names the metric and the candidate's value"
expect_out "vs baseline 0 (0/" "and the baseline's"
if grep -q "two-proportion z test\|Fisher's exact test" <<<"$out"; then ok "and the test"; else bad "no test named"; fi
expect_out "obrien-fleming" "and the alpha spending"
expect_out "threshold max_increase 0" "and the threshold"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$A', None)" "rolled back again"

# `slipway rollback` with a candidate out, by hand: the router and the store in one command.
swr releases set support-agent candidate "$B"
admin PUT /admin/agents/support-agent/route "{\"version\": $(route_field 'd["version"]'), \"candidate\": \"$B\", \"weight\": 100}"
chat "pinned-b" "hi"
expect_eq "$version" "$B" "a session on B"
swr rollback support-agent --router "$URL" --token-file "$T/token" --sessions terminate
expect_rc 0 "slipway rollback --sessions terminate"
expect_out "router: support-agent -> $A, sessions: terminate (" "the router part"
expect_out "candidate cleared: $B" "the store part"
chat "pinned-b" "again"
expect_eq "$status" 409 "the terminated session is told to start over"
swr rollback support-agent --router "$URL" --token-file "$T/token" --json
expect_rc 0 "and again"
expect_eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["router"]["already"], d["store"]["already"])')" \
    "True True" "nothing left to do"
router_done
finish
