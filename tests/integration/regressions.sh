#!/usr/bin/env bash
# The injected-regression suite: candidates of the support agent, each carrying one regression
# (tests/regressions/candidates/), run against the shipped pipelines/release.yaml unchanged (a
# copy; only --set vars), with `slipway mock` playing the model (the demo's scenario plus
# tests/regressions/rules.yaml and modifiers.yaml), `slipway serve` the router and `slipway
# traffic` the users. Each is stopped at the earliest stage that can see it, and the failure
# names the metric; an A/A candidate (a new release, no change in behaviour) is promoted, and a
# first release (no stable yet) passes the eval's comparisons, which have nothing to compare.
#
#   candidate        injected                                   stopped by
#   schema           issue_refund's enum loses a value          versioning (breaking change)
#   alias            the model becomes the floating gpt-4o      versioning (floating alias)
#   cost             twice the tokens per answer                eval: cost_ratio
#   latency          3x slower answers                          eval: latency_p95_ratio
#   quality          half the golden cases answered wrongly     eval: pass_rate
#   tool-errors      order ids without NW-: tool calls refused  the monitor: tool_error_rate
#   provider-errors  the provider fails 60% of live lookups     the monitor: error_rate
#   task-failures    6.6% of live sessions rate-limited (429),  the monitor: task_failure_rate
#                    not 2%: tasks fail 2% -> 8%, no error, no tool
#   aa               only the description changes               promoted, on evidence
#
# No timing assertions: the pipeline waits for conditions, never for the clock.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
export SW_TEST_PROVIDER_KEY=mock-needs-no-key
REG="$SW_SOURCE_DIR/tests/regressions"

# The shipped pipeline, copied as a team would, never edited.
cp "$SW_SOURCE_DIR/pipelines/release.yaml" "$T/release.yaml"
cmp -s "$T/release.yaml" "$SW_SOURCE_DIR/pipelines/release.yaml" && ok "the pipeline is the shipped one" ||
    bad "release.yaml copy"

# The regressions' rules first (first match wins); production's own rate limits just before the
# demo's generic lookup, so that every release meets them.
sed '/^rules:/r '"$REG/rules.yaml" "$SW_SOURCE_DIR/pipelines/demo/mock.yaml" |
    awk -v live="$REG/live_rules.yaml" '/^  - name: lookup$/ { while ((getline l <live) > 0) print l; found = 1 }
        { print } END { exit !found }' >"$T/mock.yaml" || bad "no generic lookup rule in the demo's mock"
cat "$REG/modifiers.yaml" >>"$T/mock.yaml"
start_mock gw "$T/mock.yaml"
MODEL="http://127.0.0.1:$gw_PORT/v1"

# candidate NAME: the support agent with the candidate's files over it (a prompt's
# system.append.md is appended to it); prints the bundle's path.
candidate() {
    local dir="$T/bundles/$1" f rel
    rm -rf "$dir"
    mkdir -p "$T/bundles"
    cp -r "$SW_SOURCE_DIR/examples/support-agent" "$dir"
    if [ -n "$1" ] && [ "$1" != base ]; then
        (cd "$REG/candidates/$1" && find . -type f) | while read -r f; do
            rel=${f#./}
            case $rel in
            prompts/system.append.md) cat "$REG/candidates/$1/$rel" >>"$dir/prompts/system.md" ;;
            *) cp "$REG/candidates/$1/$rel" "$dir/$rel" ;;
            esac
        done
    fi
    echo "$dir"
}

# release NAME [--set ...]: the shipped pipeline on candidate NAME; rc, out, R (its report.json).
ROUTER=http://127.0.0.1:9
release() {
    local name=$1 started=$SECONDS
    shift
    out=$("$SLIPWAY" run "$T/release.yaml" --set "vars.bundle=$(candidate "$name")" \
        --set "vars.router=$ROUTER" --set "vars.token=$T/token" \
        --set "vars.model_url=$MODEL" "$@" 2>&1)
    rc=$?
    R="$(run_dir)/report.json"
    echo "# $name: exit $rc after $((SECONDS - started)) s"
    # One read of the report (a python start is slow on a loaded machine): every output,
    # the failure, the gates and which rollout stages started, as NAME<TAB>VALUE lines.
    report=$(python3 - "$R" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.get("outputs", {}).items():
    print("%s\t%s" % (k, v.get("value")))
f = d.get("failure") or {}
print("failure.stage\t%s" % f.get("stage"))
print("failure.reason\t%s" % f.get("reason"))
for s in d["stages"]:
    print("gate.%s\t%s" % (s["id"], s.get("gate")))
print("started\t%s" % [s["id"] for s in d["stages"] if s.get("started_at") and s["id"] in ("watch", "canary")])
PY
)
}
# o NAME: a value of the last run's report (None when it has none).
o() {
    local v
    v=$(printf '%s\n' "$report" | awk -F '\t' -v k="$1" '$1 == k { sub(/^[^\t]*\t/, ""); print; exit }')
    echo "${v:-None}"
}
failure() { o "failure.$1"; }

# ---- a first release: no stable, so nothing to compare against; the eval passes it ----
# (No router yet: the run goes on past the eval and stops at the canary, which is the point.)
release base
expect_eq "$(o golden.has_baseline) $(o golden.cost_ratio) $(o golden.latency_p95_ratio_lo)" \
    "False None None" "first release: the eval ran without a stable, the comparisons are null"
expect_eq "$(o golden.cost_ratio_lo)" None "first release: so is the cost ratio's interval"
expect_eq "$(o gate.golden)" "passed" "first release: the eval's gate passed it"
[ "$(failure stage)" != golden ] && ok "first release: not stopped by the eval ($(failure stage))" ||
    bad "first release stopped by the eval: $(failure reason)"
stable=$(o release.id)
"$SLIPWAY" releases set support-agent stable "$stable" >/dev/null 2>&1 || bad "setting stable"

# ---- the router in gateway mode (stable: the first release), and the users ----
A=$stable
gateway_config "$T/router.yaml"
start_router "$T/router.yaml" -q
ROUTER=$URL
"$SLIPWAY" traffic --router "$ROUTER" --agent support-agent --users 16 --rate 30 --duration 0 \
    --seed 42 --tools "$SW_SOURCE_DIR/examples/support-agent/tools" >"$T/traffic.log" 2>&1 &
TRAFFIC=$!
PIDS+=($TRAFFIC)

# stopped_at NAME STAGE REASON-REGEX: the run failed at STAGE, its reason matching.
stopped_at() {
    expect_eq "$rc $(failure stage)" "1 $2" "$1: stopped by '$2'"
    local reason
    reason=$(failure reason)
    if printf '%s' "$reason" | grep -qE -- "$3"; then ok "$1: the reason names it: ${reason:0:110}"; else
        bad "$1: reason '$reason' does not match /$3/"
    fi
}
# before_users NAME: the candidate never reached the canary.
before_users() {
    expect_eq "$(o canary.steps_done) $(o started)" \
        "None []" "$1: no user saw it (neither the monitor nor the canary started)"
}

release schema
stopped_at schema release "breaking tool schema change"
before_users schema

release alias
stopped_at alias release "gpt-4o.*(alias|pin)"
before_users alias

release cost
stopped_at cost golden "^gate failed: cost_ratio [0-9.]+ \(95% interval from [0-9.]+\) above 1 \+ max_cost_increase 0.10"
awk -v r="$(o golden.cost_ratio)" 'BEGIN { exit !(r > 1.9 && r < 2.2) }' &&
    ok "cost: cost_ratio $(o golden.cost_ratio), twice stable's" || bad "cost_ratio $(o golden.cost_ratio)"
expect_eq "$(o golden.pass_rate)" 1.0 "cost: its answers still pass"
before_users cost

release latency
stopped_at latency golden "^gate failed: latency_p95_ratio [0-9.]+ \(95% interval from [0-9.]+\) above 1 \+ max_latency_increase 0.20"
expect_eq "$(o golden.pass_rate) $(awk -v r="$(o golden.cost_ratio)" 'BEGIN { print (r < 1.1) }')" \
    "1.0 1" "latency: its answers pass at stable's cost"
before_users latency

release quality
stopped_at quality golden "^gate failed: pass_rate 0.500 below min_pass_rate 1.000 \(7 failed, 0 errors\)"
before_users quality

release tool-errors
stopped_at tool-errors watch "^(tool_error_rate|task_failure_rate): candidate"
expect_eq "$(o golden.pass_rate)" 1.0 "tool-errors: it passed the golden set"
expect_eq "$(o rollback.to)" "$stable" "tool-errors: rolled back to stable"

release provider-errors
stopped_at provider-errors watch "^error_rate: candidate"
expect_eq "$(o golden.pass_rate) $(o golden.error_rate)" "1.0 0.0" "provider-errors: the golden set never saw it"
expect_eq "$(o rollback.to)" "$stable" "provider-errors: rolled back to stable"

release task-failures
stopped_at task-failures watch "^task_failure_rate: candidate"
# Stable is no perfect baseline: production's rate limits fail about 2% of its tasks.
awk -v r="$(failure reason)" 'BEGIN { if (!match(r, /vs baseline [0-9.e-]+/)) exit 1
    b = substr(r, RSTART + 12, RLENGTH - 12) + 0; exit !(b > 0.005 && b < 0.04) }' &&
    ok "task-failures: stable fails some of its tasks too" || bad "task-failures: baseline in '$(failure reason)'"
expect_eq "$(o golden.pass_rate) $(o canary.promoted)" "1.0 None" \
    "task-failures: it passed the golden set, and was stopped mid-canary"
expect_eq "$(o rollback.to)" "$stable" "task-failures: rolled back to stable"

release aa
expect_rc 0 "aa: the A/A candidate goes through"
expect_eq "$(o canary.promoted) $(o watch.verdict)" "True pass" "aa: promoted, the monitor passing it"
# The canary's own record of what it promoted on: the monitor's last word, looked after the
# promotion on a window stable then shares, can fall back to insufficient.
expect_eq "$(o canary.evidence)" "enough" "aa: on evidence, not on a timer"
expect_eq "$(o golden.has_baseline) $(o golden.regressions) $(awk -v r="$(o golden.cost_ratio)" 'BEGIN { printf "%.6f", r }')" \
    "True 0 1.000000" \
    "aa: against stable, no flip, the same cost"
expect_eq "$("$SLIPWAY" releases channels support-agent --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["stable"])')" "$(o release.id)" "aa: it is stable now"
kill -TERM "$TRAFFIC" 2>/dev/null
wait "$TRAFFIC" 2>/dev/null
router_done
echo "# the suite took $SECONDS s"
finish
