#!/usr/bin/env bash
# Per-metric policies: error_rate's fail is `hold` and tool_error_rate's inconclusive (no tool
# events at all) is `extend`. The erroring candidate sets watch.hold = true (journaled as a
# `set` event the canary would read) instead of failing the stage, and every look asks for one
# more interval, up to max_extend; the stage observes that much longer and ends with a verdict.
# The candidate is also 40 ms slower: latency_p95 fails on the router's raw latency samples by
# the Mann-Whitney U test and the Hodges-Lehmann shift, whose bound the stats API keeps.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

cat >"$T/good.yaml" <<'YAML'
seed: 1
defaults: {latency: 0ms, respond: {text: "stable answers"}}
YAML
cat >"$T/bad.yaml" <<'YAML'
seed: 2
defaults:
  latency: 40ms
  respond: {text: "candidate answers"}
  errors: [{kind: 500, rate: 0.7, message: injected}]
YAML
cat >"$T/slow.yaml" <<'YAML'
seed: 3
defaults: {latency: 40ms, respond: {text: "slow answers"}}
YAML
start_mock v1 "$T/good.yaml"
start_mock v2 "$T/bad.yaml"
start_mock v3 "$T/slow.yaml"
cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$v1_PORT/v1"}
      v2: {url: "http://127.0.0.1:$v2_PORT/v1"}
      v3: {url: "http://127.0.0.1:$v3_PORT/v1"}
    route: {stable: v1, candidate: v2, weight: 50}
YAML
start_router "$T/router.yaml"
start_traffic user- hi

cat >"$T/hold.yaml" <<'YAML'
version: 1
name: monitor-hold
vars: {router: ""}
stages:
  - id: watch
    uses: monitor
    with:
      router: ${vars.router}
      agent: support-agent
      candidate: v2
      interval: 250ms
      duration: 4s
      max_extend: 1s
      min_samples: 15
      max_looks: 50
      spending: bonferroni
      metrics: [error_rate, tool_error_rate]
      thresholds:
        error_rate: {on_fail: hold}
        tool_error_rate: {on_inconclusive: extend}
YAML
sw run "$T/hold.yaml" --set "vars.router=$URL"
stop_traffic
expect_rc 0 "a fail under hold does not fail the stage"
expect_out "hold: error_rate: candidate" "the log says why it holds"
n=$(grep -c "error_rate: .*(policy hold)" <<<"$out")
[ "$n" = 1 ] && ok "the failing rule is warned of once, not at every look" ||
    bad "the failing rule's warning came $n times"
J="$(run_dir)/journal.jsonl"
sets() { python3 - "$J" "$1" <<'PY'
import json, sys
print([e["value"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "set" and e.get("key") == sys.argv[2]])
PY
}
holds=$(sets watch.hold)
expect_eq "${holds:0:7}" "[False," "watch.hold is set (false) before the first look"
grep -q "True" <<<"$holds" && ok "watch.hold becomes true in the journal: $holds" || bad "watch.hold never true: $holds"
ext=$(sets watch.extend_ms)
expect_eq "$ext" "[0, 250, 500, 750, 1000]" "watch.extend_ms grows by one interval per look, up to max_extend"
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "d['outputs']['watch.verdict']['value']")" inconclusive "the verdict is inconclusive"
expect_eq "$(json "$R" "d['outputs']['watch.hold']['value']")" True "and the hold stands at the end"
win=$(json "$R" "d['outputs']['watch.samples']['value']['window_ms']")
[ "$win" -ge 5000 ] && ok "the extension lengthened the observation ($win ms)" || bad "window $win ms"
S="$(run_dir)/artifacts/watch/report-section.json"
expect_eq "$(json "$S" "[s['value'] for s in d['summary'] if s['label'] == 'hold']")" "['yes']" "the report section shows the hold"
expect_eq "$(json "$S" "any(e['label'].startswith('hold: error_rate') for e in d['events'])")" True "and the hold as an event"
expect_eq "$(json "$R" "[s['stage'] for s in d['sections'] if 'section' in s]")" "['watch']" "the run's report has the section"
H="$(run_dir)/report.html"
grep -q "section unreadable" "$H" && bad "the HTML says the section is unreadable" || ok "the HTML renders it"

# The rank test on the router's latency samples, against a candidate (v3) that never errs but
# answers 40 ms later: v2's fast 500s would hide its latency in the samples.
admin GET /admin/agents/support-agent/route
admin PUT /admin/agents/support-agent/route "{\"version\": $(jget 'd["version"]'), \"candidate\": \"v3\"}"
expect_eq "$status" 200 "the candidate is now v3"
sed -e 's/metrics: \[error_rate, tool_error_rate\]/metrics: [latency_p95]/' -e '/thresholds:/,$d' \
    -e 's/duration: 4s/duration: 20s/' -e 's/candidate: v2/candidate: v3/' "$T/hold.yaml" >"$T/latency.yaml"
start_traffic lat- hi
sw run "$T/latency.yaml" --set "vars.router=$URL"
stop_traffic
expect_rc 1 "the slower candidate fails on latency_p95"
printf '%s\n' "$out" | grep -m1 "latency_p95: candidate" | sed 's/^/# /'
expect_out "latency_p95: candidate" "the reason names the metric"
expect_out "Hodges-Lehmann shift +" "the shift and its interval"
expect_out "Mann-Whitney U one-sided p = " "the test"
expect_out "threshold max_relative_increase +20.0% of the baseline median" "and the threshold"

# The stats API's sample: bounded by N, refused when not a count.
admin GET "/admin/stats?agent=support-agent&since=10m&samples=7"
expect_eq "$status" 200 "stats with samples=7"
expect_eq "$(jget '[len(d["versions"][v]["latency_samples"]) for v in ("v1", "v2")]')" "[7, 7]" "seven latencies per version"
admin GET "/admin/stats?agent=support-agent&since=10m&samples=many"
expect_eq "$status" 400 "samples=many is refused"
router_done
finish
