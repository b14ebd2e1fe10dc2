#!/usr/bin/env bash
# bench/router/run.sh [BUILD_DIR] - the router's benchmarks, side by side in one run, on loopback:
#   1. throughput against a fast upstream: direct, through `slipway serve`, through nginx
#      (Debian package) proxying the same upstream with split_clients;
#   2. added latency at half of saturation (p50/p99, open loop: bench_loadgen);
#   3. shadow at 100% against shadow off, at the same rate, in turn twice;
#   4. 2,000 concurrent streaming requests (5 s each) held at once: errors and router memory.
# Needs wrk and nginx (apt-get install wrk nginx) and python3. Prints a Markdown table.
# The upstream is nginx returning a fixed chat completion, the fastest upstream there is.
set -uo pipefail
BUILD=${1:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
LOADGEN=${LOADGEN:-$BUILD/bin/bench_loadgen}
export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 77; }
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
[ -x "$LOADGEN" ] || { echo "no bench_loadgen at $LOADGEN (built with the project)"; exit 2; }
D=$(mktemp -d /tmp/bench-router.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for n in upstream shadow proxy; do
        [ -f "$D/$n.pid" ] && kill "$(cat "$D/$n.pid")" 2>/dev/null
    done
    sleep 0.3
    rm -rf "$D"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null
# PIN=1: the load generator and the upstreams on CPU 0, the proxy under test on CPU 1, as when
# a proxy has a core (or a host) of its own; unpinned, all of them share both cores.
CPU_LOAD= CPU_PROXY=
if [ "${PIN:-0}" = 1 ]; then
    CPU_LOAD="taskset -c 0"
    CPU_PROXY="taskset -c 1"
fi

. "$BENCH_DIR/../lib.sh"

UP=$(free_port)
SUP=$(free_port)
NGX=$(free_port)
nginx_conf upstream "$(upstream_server "$UP")"
# The shadow version is a deployment of its own, as in production: its copies do not queue
# behind the primaries in the primary upstream's event loop.
nginx_conf shadow "$(upstream_server "$SUP")"
# The reference proxy is a process of its own too, like the router: a peer, not a ceiling.
nginx_conf proxy "
    upstream stable { server 127.0.0.1:$UP; keepalive 128; }
    upstream canary { server 127.0.0.1:$UP; keepalive 128; }
    split_clients \"\${http_x_slipway_session}\" \$backend { 5% canary; * stable; }
    server {
        listen 127.0.0.1:$NGX;
        location / {
            proxy_pass http://\$backend;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
for n in upstream shadow proxy; do
    cpu=$CPU_LOAD
    [ $n = proxy ] && cpu=$CPU_PROXY
    $cpu nginx -c "$D/$n.conf" -g 'daemon on; master_process on;' || { cat "$D/$n-error.log"; exit 1; }
done
wait_port "$UP" && wait_port "$SUP" && wait_port "$NGX" || { echo "nginx did not start"; exit 1; }

# router CONFIG_EXTRA: start `slipway serve` in front of the nginx upstream.
router() {
    cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $D/router-state.json
sessions: {max_pins: 100000}
shadow: {queue: 10000, concurrency: 64}
agents:
  bench:
    versions:
      stable: {url: "http://127.0.0.1:$UP/v1"}
      canary: {url: "http://127.0.0.1:$UP/v1"}
      shadow: {url: "http://127.0.0.1:$SUP/v1"}
    route: {stable: stable, candidate: canary, weight: 5 $1}
YAML
    rm -f "$D/router.port" "$D/router-state.json"
    $CPU_PROXY "$SLIPWAY" serve --config "$D/router.yaml" --port-file "$D/router.port" -q >"$D/router.log" 2>&1 &
    RPID=$!
    PIDS+=($RPID)
    for i in $(seq 1 200); do [ -s "$D/router.port" ] && break; sleep 0.05; done
    RPORT=$(cat "$D/router.port")
}
stop_router() { kill "$RPID"; wait "$RPID" 2>/dev/null; }

# wrk_run URL: prints "rps p50_ms p99_ms errors" for one saturating wrk run.
wrk_run() {
    local url=$1 script=$BENCH_DIR/post.lua conns=$CONNS
    $CPU_LOAD wrk -t"$THREADS" -c"$conns" -d"${DUR}s" --latency -s "$script" "$url/v1/chat/completions" >"$D/wrk.txt" 2>&1
    wrk_parse "$D/wrk.txt"
}

echo "# slipway serve benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, wrk -t$THREADS -c$CONNS -d${DUR}s)"
echo
echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves every figure)."
echo
wrk_run "http://127.0.0.1:$UP" >/dev/null # warm-up
read -r d_rps d_p50 d_p99 d_err < <(wrk_run "http://127.0.0.1:$UP")
router ""
wrk_run "http://127.0.0.1:$RPORT" >/dev/null
read -r r_rps r_p50 r_p99 r_err < <(wrk_run "http://127.0.0.1:$RPORT")
r_rss=$(awk '/VmHWM/ {print $2}' "/proc/$RPID/status")
read -r n_rps n_p50 n_p99 n_err < <(wrk_run "http://127.0.0.1:$NGX")

echo "## 1. Throughput (saturated, $CONNS connections)"
echo
echo "| path | requests/s | p50 ms | p99 ms | errors | vs direct |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf "| direct to the upstream | %s | %s | %s | %s | 1.00 |\n" "$d_rps" "$d_p50" "$d_p99" "$d_err"
printf "| slipway serve (5%% split, pins) | %s | %s | %s | %s | %.2f |\n" "$r_rps" "$r_p50" "$r_p99" "$r_err" "$(echo "$r_rps / $d_rps" | bc -l)"
printf "| nginx split_clients + proxy_pass | %s | %s | %s | %s | %.2f |\n" "$n_rps" "$n_p50" "$n_p99" "$n_err" "$(echo "$n_rps / $d_rps" | bc -l)"
echo
printf "slipway serve / nginx: %.2f.\n" "$(echo "$r_rps / $n_rps" | bc -l)"
echo
echo "Router peak RSS during the run: $((r_rss / 1024)) MB."
echo

# 2. Half of the router's saturation, open loop: bench_loadgen sends at a fixed rate and counts
#    each latency from the request's due time (wrk can only pace its connections).
HALF=$(python3 -c "print(int(float('$r_rps') / 2))")
# lg_run URL [RATE]: prints "rps p50_ms p99_ms errors lag_p99_ms" for one bench_loadgen run
# (at $HALF/s by default).
lg_run() {
    $CPU_LOAD "$LOADGEN" -r "${2:-$HALF}" -d "$DUR" -w 1 "$1/v1/chat/completions" 2>"$D/lg.err" | lg_parse
}
echo "## 2. Latency at half of the router's saturation ($HALF requests/s, open loop, two rounds in turn)"
echo
echo "| round | path | requests/s | p50 ms | p99 ms | errors | generator's send lag p99 ms | added p50 ms | added p99 ms |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for round in 1 2; do
    read -r pd_rps pd_p50 pd_p99 pd_err pd_lag < <(lg_run "http://127.0.0.1:$UP")
    printf "| %s | direct | %s | %s | %s | %s | %s | - | - |\n" "$round" "$pd_rps" "$pd_p50" "$pd_p99" "$pd_err" "$pd_lag"
    for path in "slipway serve:$RPORT" "nginx:$NGX"; do
        read -r rps p50 p99 err lag < <(lg_run "http://127.0.0.1:${path##*:}")
        printf "| %s | %s | %s | %s | %s | %s | %s | %.3f | %.3f |\n" "$round" "${path%:*}" "$rps" "$p50" "$p99" "$err" "$lag" "$(echo "$p50 - $pd_p50" | bc -l)" "$(echo "$p99 - $pd_p99" | bc -l)"
    done
done
stop_router
echo

# 3. Shadow at 100% against shadow off, each in a router of its own, twice in turn (off, on,
#    off, on) so that a change in the machine's load hits both alike. Shadowing every request
#    doubles the upstreams' work and adds the worker's copies on the same cores: at half of the
#    router's saturation the machine has no room left for them, so this runs at a quarter
#    (SHADOW_RATE overrides).
SHADOW_RATE=${SHADOW_RATE:-$((HALF / 2))}
shadow_pass() {
    router "$1"
    read -r rps p50 p99 err lag < <(lg_run "http://127.0.0.1:$RPORT" "$SHADOW_RATE")
    local m
    m=$(curl -s "http://127.0.0.1:$RPORT/metrics")
    pairs=$(awk '/^slipway_shadow_pairs_total/ {s += $NF} END {print s + 0}' <<<"$m")
    dropped=$(awk '/^slipway_shadow_dropped_total/ {s += $NF} END {print s + 0}' <<<"$m")
    stop_router
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$2" "$rps" "$p50" "$p99" "$err" "$lag" "$pairs" "$dropped"
}
echo "## 3. Shadow at 100% ($SHADOW_RATE requests/s, open loop; the shadow version is an upstream of its own)"
echo
echo "| router | requests/s | p50 ms | p99 ms | errors | send lag p99 ms | shadow pairs | dropped |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for round in 1 2; do
    shadow_pass "" "shadow off ($round)"
    shadow_pass ", shadow: {version: shadow, percent: 100}" "shadow 100% ($round)"
done
echo

# 4. 2,000 streams of 5 s held at once, against `slipway mock`.
N=${STREAMS:-2000}
$CPU_LOAD "$SLIPWAY" mock --scenario "$BENCH_DIR/stream5s.yaml" --port-file "$D/mock.port" --threads 2 >"$D/mock.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 200); do [ -s "$D/mock.port" ] && break; sleep 0.05; done
UP=$(cat "$D/mock.port")
router ""
python3 "$BENCH_DIR/streams.py" "$RPORT" "$N" >"$D/streams.json" &
SPID=$!
peak_inflight=0
while kill -0 "$SPID" 2>/dev/null; do
    v=$(curl -s --max-time 2 "http://127.0.0.1:$RPORT/metrics" | awk '/^slipway_inflight_upstream_requests/ {print $NF}')
    [ "${v:-0}" -gt "$peak_inflight" ] && peak_inflight=$v
    sleep 0.5
done
wait "$SPID"
s_rss=$(awk '/VmHWM/ {print $2}' "/proc/$RPID/status")
stop_router
echo "## 4. $N concurrent streams (each 5 s)"
echo
python3 - "$D/streams.json" "$s_rss" "$peak_inflight" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("| streams | whole | errors | most in flight at once | shortest s | longest s | router peak RSS |")
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
print("| %d | %d | %d | %s | %s | %s | %d MB |" % (r["requests"], r["whole"], r["requests"] - r["whole"],
      sys.argv[3], r["min_s"], r["max_s"], int(sys.argv[2]) // 1024))
PY
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
