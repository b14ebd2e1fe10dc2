#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, end to end with this build (no bootstrap, no
# build): it exits 0; the good change is promoted (the store's stable is it, no candidate; the
# router serves it); the regressed change passes the golden set, is stopped by the monitor
# during the canary, named in failure.reason, and rolled back with drain; the breaking schema
# change is stopped by versioning; the move to Claude is refused while it keeps OpenAI's seed,
# then evaluated over Anthropic Messages beside stable over Chat Completions, canaried and
# promoted, the users' Chat Completions application served through the router's translation;
# every process the demo started is gone. No timing
# assertions: the demo itself waits for conditions (ports, sessions), never for the clock.
source "$(dirname "$0")/lib.sh"
: "${SW_BUILD_DIR:?}"

D="$T/demo"
out=$(SLIPWAY_DEMO_SKIP_BUILD=1 SLIPWAY_BUILD_DIR="$SW_BUILD_DIR" SLIPWAY_DEMO_DIR="$D" \
    timeout 600 bash "$SW_SOURCE_DIR/scripts/demo.sh" 2>&1)
rc=$?
expect_rc 0 "scripts/demo.sh"
export SLIPWAY_STATE_DIR="$D/state"
expect_out "== 1/5" "part 1: the agent as it is"
expect_out "== 5/5" "through part 5"
expect_out "== summary" "and the summary"

runs=($(ls -1 "$SLIPWAY_STATE_DIR/runs" | sort))
expect_eq "${#runs[@]}" 6 "six runs"
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

# 5: the move to Claude. With OpenAI's seed: refused by versioning at its line.
expect_eq "$(json "$(R 4)" 'd["exit_code"]')" 1 "run 5 (Claude, keeping seed: 7) failed"
expect_eq "$(json "$(R 4)" 'd["failure"]["stage"]')" release "at versioning"
expect_out "parameter 'seed': provider 'anthropic' speaks Anthropic Messages, which refuses it" \
    "naming the parameter and the provider"
# Without it: an ordinary release, evaluated over Messages, canaried, promoted.
expect_eq "$(json "$(R 5)" 'd["exit_code"]')" 0 "run 6 (the move to Claude) succeeded"
claude=$(o 5 release.id)
E5="$(dirname "$(R 5)")/artifacts/golden"
expect_eq "$(json "$E5/eval-summary.json" 'd["provenance"]["candidate_model"], d["provenance"]["candidate_protocol"], d["provenance"]["baseline_protocol"]')" \
    "('claude-haiku-4-5-20251001', 'messages', 'chat')" \
    "the Claude release evaluated over Anthropic Messages, stable beside it over Chat Completions"
expect_eq "$(o 5 golden.pass_rate)" 1.0 "its golden set passed"
expect_eq "$(o 5 canary.promoted) $(o 5 canary.steps_done) $(o 5 watch.verdict)" "True 4 pass" \
    "canaried on evidence and promoted"
# The users' application speaks Chat Completions only (slipway traffic's default): every
# Messages request the mock saw in this run beyond the eval's own came through the router's
# translation.
translated=$(python3 - "$D/mock-claude.json" "$E5/eval.jsonl" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(m["messages"] - sum(json.loads(l)["steps"] for l in open(sys.argv[2])))
PY
)
[ "${translated:-0}" -ge 40 ] && ok "$translated Chat Completions requests served by Claude through translation" ||
    bad "translated requests: '$translated'"
[ "$(o 5 canary.sessions_on_candidate)" -ge 40 ] && ok "live sessions reached the Claude release" ||
    bad "sessions_on_candidate $(o 5 canary.sessions_on_candidate)"
expect_out "went to Claude over Anthropic Messages, translated by the router" "the summary says so"

# The store: the Claude release is stable, nothing is a candidate.
out=$("$SLIPWAY" releases channels support-agent --json 2>&1)
expect_eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stable"], d["candidate"])')" \
    "$claude None" "the store: stable is the Claude release, no candidate"
[ -n "$first" ] && [ "$first" != "$good" ] && [ "$good" != "$bad_id" ] && [ "$claude" != "$good" ] &&
    ok "four releases" || bad "releases '$first' '$good' '$bad_id' '$claude'"

# Every run has its page, and the regressed run's report holds what each rollout stage
# wrote: the eval's cases, the monitor's charts, the canary's steps, the rollback.
pages=0
for i in 0 1 2 3 4 5; do
    [ -s "$(dirname "$(R $i)")/report.html" ] && pages=$((pages + 1))
done
expect_eq "$pages" 6 "every run has a report.html"
expect_eq "$(json "$(R 2)" "[s['stage'] for s in d['sections'] if 'section' in s]")" \
    "['golden', 'watch', 'canary', 'rollback']" "run 3's report has the eval, monitor, canary and rollback sections"
expect_eq "$(json "$(R 2)" "any(e.get('status') == 'fail' and 'breach' in e.get('label', '') for e in d['timeline'])")" \
    True "its timeline shows the breach"
html="$(dirname "$(R 2)")/report.html"
grep -q "<svg" "$html" && ! grep -qE "(src|href)=\"?(https?:)?//" "$html" &&
    ok "its page has inline charts and nothing from the network" || bad "report.html of run 3"

# The router's saved state names the Claude release.
if grep -q "\"$claude\"" "$D/router-state.json"; then ok "the router's state names the Claude release"; else bad "router state"; fi

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
