#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, end to end with this build (no bootstrap, no
# build): it exits 0; the good change is promoted (the store's stable is it, no candidate; the
# router serves it); the regressed change passes the golden set, is stopped by the monitor
# during the canary, named in failure.reason, and rolled back with drain; the breaking schema
# change is stopped by versioning; every process the demo started is gone. No timing
# assertions: the demo itself waits for conditions (ports, sessions), never for the clock.
source "$(dirname "$0")/lib.sh"
: "${SW_BUILD_DIR:?}"

D="$T/demo"
out=$(SLIPWAY_DEMO_SKIP_BUILD=1 SLIPWAY_BUILD_DIR="$SW_BUILD_DIR" SLIPWAY_DEMO_DIR="$D" \
    timeout 600 bash "$SW_SOURCE_DIR/scripts/demo.sh" 2>&1)
rc=$?
expect_rc 0 "scripts/demo.sh"
export SLIPWAY_STATE_DIR="$D/state"
expect_out "== 1/4" "part 1: the agent as it is"
expect_out "== 4/4" "through part 4"
expect_out "== summary" "and the summary"

runs=($(ls -1 "$SLIPWAY_STATE_DIR/runs" | sort))
expect_eq "${#runs[@]}" 4 "four runs"
R() { echo "$SLIPWAY_STATE_DIR/runs/${runs[$1]}/report.json"; }
o() { json "$(R "$1")" "(d['outputs'].get('$2') or {}).get('value')"; }

# 1: the first release, made stable by hand.
expect_eq "$(json "$(R 0)" 'd["exit_code"]')" 0 "run 1 succeeded"
first=$(o 0 release.id)

# 2: the good change, promoted.
expect_eq "$(json "$(R 1)" 'd["exit_code"]')" 0 "run 2 (the good change) succeeded"
good=$(o 1 release.id)
expect_eq "$(o 1 golden.pass_rate)" 1.0 "its golden set passed"
expect_eq "$(o 1 canary.promoted)" True "it was promoted"
expect_eq "$(o 1 canary.steps_done)" 4 "after shadow, 25, 50 and 100%"
expect_eq "$(o 1 canary.evidence) $(o 1 watch.evidence)" "enough enough" "on evidence, not on a timer"
expect_eq "$(o 1 watch.verdict)" pass "the monitor passed it"
[ "$(o 1 canary.sessions_on_candidate)" -ge 40 ] && ok "live sessions reached it" ||
    bad "sessions_on_candidate $(o 1 canary.sessions_on_candidate)"

# 3: the regressed change: golden set passed, the monitor stopped it, rolled back.
expect_eq "$(json "$(R 2)" 'd["exit_code"]')" 1 "run 3 (the regressed change) failed"
bad_id=$(o 2 release.id)
expect_eq "$(o 2 golden.pass_rate)" 1.0 "yet its golden set passed"
expect_eq "$(json "$(R 2)" 'd["failure"]["stage"]')" watch "the monitor ('watch') stopped it"
reason=$(json "$(R 2)" 'd["failure"]["reason"]')
if printf '%s' "$reason" | grep -qE "^(tool_error_rate|task_failure_rate): candidate"; then
    ok "failure.reason names the metric: ${reason:0:60}..."
else
    bad "failure.reason '$reason'"
fi
expect_eq "$(o 2 watch.verdict)" fail "watch.verdict is fail"
expect_eq "$(o 2 canary.promoted)" None "the canary did not finish"
expect_eq "$(o 2 rollback.to)" "$good" "rolled back to the good change"
expect_eq "$(o 2 rollback.sessions_policy)" drain "with drain"
expect_eq "$(o 2 explain.message)" "release blocked at stage 'watch': $reason" "explained"

# 4: the breaking schema change, stopped by versioning.
expect_eq "$(json "$(R 3)" 'd["exit_code"]')" 1 "run 4 (the schema change) failed"
expect_eq "$(json "$(R 3)" 'd["failure"]["stage"]')" release "at versioning"
expect_out "1 breaking tool schema change(s) against stable $good" "the gate says why"

# The store: the good change is stable, nothing is a candidate.
out=$("$SLIPWAY" releases channels support-agent --json 2>&1)
expect_eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stable"], d["candidate"])')" \
    "$good None" "the store: stable is the good change, no candidate"
[ -n "$first" ] && [ "$first" != "$good" ] && [ "$good" != "$bad_id" ] && ok "three releases" ||
    bad "releases '$first' '$good' '$bad_id'"

# Every run has its page, and the regressed run's report holds what each rollout stage
# wrote: the eval's cases, the monitor's charts, the canary's steps, the rollback.
pages=0
for i in 0 1 2 3; do
    [ -s "$(dirname "$(R $i)")/report.html" ] && pages=$((pages + 1))
done
expect_eq "$pages" 4 "every run has a report.html"
expect_eq "$(json "$(R 2)" "[s['stage'] for s in d['sections'] if 'section' in s]")" \
    "['golden', 'watch', 'canary', 'rollback']" "run 3's report has the eval, monitor, canary and rollback sections"
expect_eq "$(json "$(R 2)" "any(e.get('status') == 'fail' and 'breach' in e.get('label', '') for e in d['timeline'])")" \
    True "its timeline shows the breach"
html="$(dirname "$(R 2)")/report.html"
grep -q "<svg" "$html" && ! grep -qE "(src|href)=\"?(https?:)?//" "$html" &&
    ok "its page has inline charts and nothing from the network" || bad "report.html of run 3"

# The router's saved state names the good change.
if grep -q "\"$good\"" "$D/router-state.json"; then ok "the router's state names the good change"; else bad "router state"; fi

# Every process the demo started is gone.
n=0
for p in $(cat "$D/pids"); do
    n=$((n + 1))
    if kill -0 "$p" 2>/dev/null && grep -q slipway "/proc/$p/cmdline" 2>/dev/null; then
        bad "process $p still runs: $(tr '\0' ' ' <"/proc/$p/cmdline")"
    fi
done
expect_eq "$n" 3 "the demo started three processes (mock, router, traffic), all stopped"
grep -q "^traffic: " "$D/traffic.log" && ok "the traffic generator printed its summary" || bad "traffic.log"
finish
