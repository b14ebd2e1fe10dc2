#!/usr/bin/env bash
# The monitor on the router's shadow pairs: v1 serves, the candidate v2 gets a shadow copy of
# every request. v2's mock answers like v1 except when a refund is asked. With only ordinary
# questions the candidate never disagrees and shadow_disagreement_rate passes; with half of the
# questions about refunds it disagrees on half of the pairs, over the absolute max 0.3: fail,
# with a reason naming the metric, the value and the threshold.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

cat >"$T/stable.yaml" <<'YAML'
seed: 1
defaults: {latency: 0ms, respond: {text: "happy to help: {{user}}"}}
YAML
cat >"$T/candidate.yaml" <<'YAML'
seed: 2
defaults: {latency: 0ms, respond: {text: "happy to help: {{user}}"}}
rules:
  - name: refunds
    match: {user: "refund"}
    respond:
      tool_calls:
        - name: issue_refund
          arguments: {amount: 10}
YAML
start_mock v1 "$T/stable.yaml"
start_mock v2 "$T/candidate.yaml"
cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
shadow: {queue: 64, concurrency: 2, timeout_ms: 10000}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$v1_PORT/v1"}
      v2: {url: "http://127.0.0.1:$v2_PORT/v1"}
    route: {stable: v1, shadow: {version: v2, percent: 100}}
YAML
start_router "$T/router.yaml"


cat >"$T/shadow.yaml" <<'YAML'
version: 1
name: monitor-shadow
vars: {router: ""}
stages:
  - id: watch
    uses: monitor
    with:
      router: ${vars.router}
      agent: support-agent
      candidate: v2
      interval: 300ms
      duration: 3s
      min_samples: 10
      metrics: []
      thresholds: {shadow_disagreement_rate: {max: 0.3}}
YAML

start_traffic s- "where is my order?" "hello there"
sw run "$T/shadow.yaml" --set "vars.router=$URL"
stop_traffic
expect_rc 0 "a candidate that agrees passes"
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "d['outputs']['watch.verdict']['value']")" pass "watch.verdict is pass"
expect_eq "$(json "$R" "d['outputs']['watch.snapshot']['value']['shadow_disagreement_rate']['candidate']")" 0.0 "no disagreement"
n=$(json "$R" "int(d['outputs']['watch.snapshot']['value']['shadow_disagreement_rate']['n_candidate'])")
[ "$n" -ge 10 ] && ok "judged on $n pairs" || bad "only $n pairs"

start_traffic s- "where is my order?" "I want a refund"
sw run "$T/shadow.yaml" --set "vars.router=$URL"
stop_traffic
expect_rc 1 "a candidate that disagrees on refunds fails"
printf '%s\n' "$out" | grep -m1 "shadow_disagreement_rate: candidate" | sed 's/^/# /'
expect_out "shadow_disagreement_rate: candidate 0." "the reason names the metric and its value"
# The window starts anywhere in the cycle of two questions: half the pairs, give or take one.
v=$(json "$(run_dir)/report.json" "d['outputs']['watch.snapshot']['value']['shadow_disagreement_rate']['candidate']")
python3 -c "import sys; sys.exit(0 if 0.4 <= float('$v') <= 0.6 else 1)" && ok "about half the pairs disagree ($v)" || bad "disagreement $v"
expect_out "over the threshold max 0.3" "and the threshold"
S="$(run_dir)/artifacts/watch/report-section.json"
expect_eq "$(json "$S" "d['charts'][0]['title']")" shadow_disagreement_rate "the report section charts it"
expect_eq "$(json "$S" "set(p[1] for p in d['charts'][0]['series'][2]['points'])")" "{0.3}" "with the threshold as a series"
router_done
finish
