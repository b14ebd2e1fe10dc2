#!/usr/bin/env bash
# The monitor over router replicas: two real `slipway serve` processes (each with its own state
# folder) behind no load balancer, the test's traffic split between them, and a monitor whose
# `routers:` lists both. Its counts are the sum of the two routers' /admin/stats, per version;
# the shadow pairs of both are judged together; a router that stops answering is left out after
# three failed looks (the monitor goes on).
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

cat >"$T/v1.yaml" <<'YAML'
seed: 1
defaults: {latency: 0ms, respond: {text: "stable answers"}}
YAML
cat >"$T/v2.yaml" <<'YAML'
seed: 2
defaults: {latency: 5ms, respond: {text: "candidate answers"}}
YAML
start_mock v1 "$T/v1.yaml"
start_mock v2 "$T/v2.yaml"
# replica NAME: a router of its own (state file, port); its URL in ${NAME}_URL.
replica() {
    cat >"$T/$1.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/$1-state/router.json
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
shadow: {queue: 64, concurrency: 2, timeout_ms: 10000}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$v1_PORT/v1"}
      v2: {url: "http://127.0.0.1:$v2_PORT/v1"}
    route: {stable: v1, candidate: v2, weight: 50}
YAML
    start_router "$T/$1.yaml"
    eval "${1}_URL=$URL"
    eval "${1}_PID=$ROUTER_PID"
}
replica a
replica b

# watch FILE ROUTERS DURATION [METRICS]: a pipeline of one monitor over the routers (a YAML
# list).
watch() {
    cat >"$1" <<YAML
version: 1
name: monitor-replicas
stages:
  - id: watch
    uses: monitor
    with:
      routers: $2
      agent: support-agent
      candidate: v2
      interval: 250ms
      duration: $3
      min_samples: 5
      max_looks: 50
      metrics: ${4:-[error_rate, latency_p95]}
      on_fail: continue
YAML
}
watch "$T/both.yaml" "[\"$a_URL\", \"$b_URL\"]" 8s
# wait_monitor N: the N-th run started its monitor, its window open (it journals watch.hold
# before its first look).
wait_monitor() {
    local i
    for i in $(seq 1 400); do
        [ "$(ls -1 "$SLIPWAY_STATE_DIR/runs" 2>/dev/null | wc -l)" -ge "$1" ] &&
            grep -q '"key":"watch.hold"' "$(run_dir)/journal.jsonl" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
"$SLIPWAY" run "$T/both.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
run_pid=$!
PIDS+=($run_pid)
wait_monitor 1 || bad "the monitor started"
# 30 sessions through a, 20 through b, each a new session (the route splits them 50/50).
sent=0
for i in $(seq 1 50); do
    if [ "$i" -le 30 ]; then URL=$a_URL; else URL=$b_URL; fi
    chat "s-$i" "where is my order?"
    [ "$status" = 200 ] && sent=$((sent + 1))
done
expect_eq "$sent" 50 "50 requests answered, 30 by replica a and 20 by replica b"
wait $run_pid
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "the monitor over both replicas finishes"
R="$(run_dir)/report.json"
echo "    # monitor samples: $(json "$R" "d['outputs']['watch.samples']['value']")"
# requests VERSION: that version's requests on each replica, since the routers started.
requests() {
    local total=0 n u
    for u in "$a_URL" "$b_URL"; do
        URL=$u
        admin GET "/admin/stats?agent=support-agent&since=0"
        n=$(jget "d['versions'].get('$1', {}).get('requests', 0)")
        echo "    # $u: $1 served $n"
        total=$((total + n))
    done
    echo $total
}
cand=$(requests v2 | tail -n 1)
base=$(requests v1 | tail -n 1)
expect_eq "$(json "$R" "d['outputs']['watch.samples']['value']['candidate']")" "$cand" "the monitor's candidate count is the sum of both replicas' ($cand)"
expect_eq "$(json "$R" "d['outputs']['watch.samples']['value']['baseline']")" "$base" "its baseline count is the sum of both replicas' ($base)"
expect_eq "$((cand + base))" 50 "and together they are every request sent"
URL=$a_URL; admin GET "/admin/stats?agent=support-agent&since=0"; a_total=$(jget "sum(v['requests'] for v in d['versions'].values())")
URL=$b_URL; admin GET "/admin/stats?agent=support-agent&since=0"; b_total=$(jget "sum(v['requests'] for v in d['versions'].values())")
expect_eq "$a_total $b_total" "30 20" "each replica saw only its own share"

# ---- shadow pairs: each replica records its own, the monitor judges them together ----
for u in "$a_URL" "$b_URL"; do
    URL=$u
    admin GET /admin/agents/support-agent/route
    admin PUT /admin/agents/support-agent/route "{\"version\": $(jget 'd["version"]'), \"candidate\": null, \"weight\": 0, \"shadow\": {\"version\": \"v2\", \"percent\": 100}}"
    expect_eq "$status" 200 "replica $u: v1 serves, v2 gets a shadow copy of every request"
done
watch "$T/pairs.yaml" "[\"$a_URL\", \"$b_URL\"]" 5s "[shadow_disagreement_rate]"
"$SLIPWAY" run "$T/pairs.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
run_pid=$!
PIDS+=($run_pid)
wait_monitor 2 || bad "the pairs monitor started"
for i in $(seq 1 24); do
    if [ "$i" -le 10 ]; then URL=$a_URL; else URL=$b_URL; fi
    chat "p-$i" "where is my order?"
done
wait $run_pid
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "the pairs monitor finishes"
pairs=0
for u in "$a_URL" "$b_URL"; do
    URL=$u
    admin GET "/admin/shadow?agent=support-agent&since=0&limit=10000"
    n=$(jget "len([p for p in d['pairs'] if p['shadow']['version'] == 'v2' and not p.get('shadow_failed')])")
    echo "    # $u: $n pairs"
    [ "$n" -gt 0 ] || bad "replica $u recorded pairs"
    pairs=$((pairs + n))
done
R="$(run_dir)/report.json"
expect_eq "$(json "$R" "int(d['outputs']['watch.snapshot']['value']['shadow_disagreement_rate']['n_candidate'])")" "$pairs" "the monitor judged the pairs of both replicas ($pairs)"
expect_eq "$pairs" 24 "one pair per request sent"

# ---- a replica that stops answering: left out after three failed looks ----
kill -TERM "$b_PID"; wait "$b_PID" 2>/dev/null
watch "$T/short.yaml" "[\"$a_URL\", \"$b_URL\"]" 2s
sw run "$T/short.yaml"
expect_rc 0 "the monitor finishes without the stopped replica"
expect_out "router $b_URL failed 3 looks in a row" "it says it judges without the stopped replica"
expect_out "verdict inconclusive" "with a verdict (inconclusive: no traffic came)"

# ---- bad input ----
watch "$T/bad.yaml" '["http://127.0.0.1:1", ""]' 2s
sw run "$T/bad.yaml"
expect_rc 1 "an empty router URL in routers is refused"
expect_out "routers must be a list of router base URLs" "with what routers must be"
finish
