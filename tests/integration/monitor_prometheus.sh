#!/usr/bin/env bash
# The monitor on Prometheus: a real Prometheus server (Debian's /usr/bin/prometheus, started
# here on loopback with a temporary TSDB; skipped when absent) scrapes the router's /metrics
# every second while traffic goes through `slipway serve` to two `slipway mock` versions, the
# candidate failing 60% of its requests. The monitor (source: prometheus, the built-in PromQL
# for error_rate) fails with a reason naming the metric, both values, the test and the query;
# a malformed query is a stage error naming the query and Prometheus' own message.
source "$(dirname "$0")/lib.sh"
PROM=${SW_PROMETHEUS:-/usr/bin/prometheus}
[ -x "$PROM" ] || { echo "skip: no prometheus binary at $PROM"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

cat >"$T/good.yaml" <<'YAML'
seed: 1
defaults: {latency: 0ms, respond: {text: "stable answers"}}
YAML
cat >"$T/bad.yaml" <<'YAML'
seed: 2
defaults:
  latency: 0ms
  respond: {text: "candidate answers"}
  errors: [{kind: 500, rate: 0.6, message: injected}]
YAML
start_mock v1 "$T/good.yaml"
start_mock v2 "$T/bad.yaml"
cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$v1_PORT/v1"}
      v2: {url: "http://127.0.0.1:$v2_PORT/v1"}
    route: {stable: v1, candidate: v2, weight: 50}
YAML
start_router "$T/router.yaml"

# Prometheus on a free loopback port, scraping the router every second.
PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: slipway
    scrape_interval: 1s
    static_configs: [{targets: ["127.0.0.1:$ROUTER_PORT"]}]
YAML
"$PROM" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prometheus.log" 2>&1 &
PIDS+=($!)
PROM_URL="http://127.0.0.1:$PROM_PORT"
up=0
for i in $(seq 1 300); do
    v=$(curl -s --max-time 2 "$PROM_URL/api/v1/query?query=up%7Bjob%3D%22slipway%22%7D" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
    [ "$v" = 1 ] && { up=1; break; }
    sleep 0.1
done
[ "$up" = 1 ] && ok "prometheus scrapes the router" || { out=$(tail -20 "$T/prometheus.log"); bad "prometheus never scraped the router"; finish; }

# New sessions, one after the other, until stopped: half go to the candidate.
start_traffic

cat >"$T/prom.yaml" <<'YAML'
version: 1
name: monitor-prometheus
vars: {prom: "", queries: "{}"}
stages:
  - id: watch
    uses: monitor
    with:
      source: prometheus
      prometheus: ${vars.prom}
      agent: support-agent
      candidate: v2
      baseline: v1
      interval: 1s
      duration: 90s
      min_samples: 20
      max_looks: 10
      spending: bonferroni
      metrics: [error_rate]
YAML
sw run "$T/prom.yaml" --set "vars.prom=$PROM_URL"
expect_rc 1 "the monitor fails the erroring candidate"
printf '%s\n' "$out" | grep -m1 "error_rate: candidate" | sed 's/^/# /'
expect_out "error_rate: candidate" "the reason names the metric and the candidate's value"
expect_out "vs baseline 0 (0/" "and the baseline's"
if grep -q "two-proportion z test\|Fisher's exact test" <<<"$out"; then ok "and the test"; else bad "no test named"; fi
expect_out "(query: sum(increase(slipway_request_errors_total{agent=\"support-agent\",version=\"v2\",class=~\"5xx|timeout|connect|stream_cut\"}[" "and the PromQL query it ran"
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "d['outputs']['watch.verdict']['value']")" fail "watch.verdict is fail"
S="$(run_dir)/artifacts/watch/report-section.json"
expect_eq "$(json "$S" "[c['title'] for c in d['charts']]")" "['error_rate']" "the report section charts error_rate"
expect_eq "$(json "$S" "[e['status'] for e in d['events'] if e['label'].startswith('breach:')]")" "['fail']" "and the breach as an event"
expect_eq "$(json "$S" "len(d['charts'][0]['marks'])")" 1 "and a mark at the breach"

# Prometheus refuses a malformed query: a stage error naming the query and Prometheus' message.
cat >"$T/badq.yaml" <<'YAML'
version: 1
name: monitor-bad-query
vars: {prom: ""}
stages:
  - id: watch
    uses: monitor
    with:
      source: prometheus
      prometheus: ${vars.prom}
      agent: support-agent
      candidate: v2
      baseline: v1
      interval: 300ms
      duration: 10s
      queries: {error_rate: 'sum(rate(slipway_requests_total{version="{{version}}"}[1m]'}
YAML
sw run "$T/badq.yaml" --set "vars.prom=$PROM_URL"
expect_rc 1 "a malformed query stops the stage"
expect_out "prometheus: query 'sum(rate(slipway_requests_total{version=\"v2\"}[1m]' for version 'v2'" "the error names the query"
expect_out "Prometheus error (bad_data)" "and Prometheus' own error"

# A placeholder typo is refused before anything runs.
sed -i 's/{{version}}/{{versoin}}/' "$T/badq.yaml"
sw run "$T/badq.yaml" --set "vars.prom=$PROM_URL"
expect_rc 1 "an unknown placeholder is refused"
expect_out "queries.error_rate: unknown placeholder '{{versoin}}'" "naming it"

stop_traffic
router_done
finish
