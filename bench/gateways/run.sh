#!/usr/bin/env bash
# bench/gateways/run.sh [BUILD_DIR] - `slipway serve` side by side with the Portkey gateway
# (npm @portkey-ai/gateway, run locally), in one run, on loopback, each doing a 95/5 split in
# front of the same upstream:
#   1. throughput, saturated (wrk), and requests/s per core of the proxy's own CPU time;
#   2. added latency p50 and p99 at a rate both sustain (open loop, bench_loadgen, two rounds);
#   3. time to first token of streamed answers (slipway mock, 100 ms to the first token);
#   4. resident memory holding STREAMS (10,000) concurrent streams at once.
# Needs wrk and nginx (apt-get install wrk nginx), node and npm (the gateway is installed into
# bench/gateways/node_modules from package.json on first use), python3 and bench_loadgen.
# DUR (seconds per run, 10), CONNS (wrk connections, 64), STREAMS (10000), TTFT_N (300).
set -uo pipefail
BUILD=${1:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
LOADGEN=${LOADGEN:-$BUILD/bin/bench_loadgen}
HERE=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-10}
CONNS=${CONNS:-64}
STREAMS=${STREAMS:-10000}
TTFT_N=${TTFT_N:-300}
for t in wrk nginx node npm python3; do
    command -v $t >/dev/null || { echo "needs $t (apt-get install wrk nginx nodejs npm)"; exit 77; }
done
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
[ -x "$LOADGEN" ] || { echo "no bench_loadgen at $LOADGEN (built with the project)"; exit 2; }
PORTKEY=$HERE/node_modules/@portkey-ai/gateway/build/start-server.js
if [ ! -f "$PORTKEY" ]; then
    (cd "$HERE" && npm install --no-audit --no-fund --loglevel=error) >&2 || { echo "npm install failed"; exit 1; }
fi
D=$(mktemp -d /tmp/bench-gateways.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [ -f "$D/upstream.pid" ] && kill "$(cat "$D/upstream.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$D"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. "$HERE/../lib.sh"

UP=$(free_port)
nginx_conf upstream "$(upstream_server "$UP")"
nginx -c "$D/upstream.conf" -g 'daemon on; master_process on;' || { cat "$D/upstream-error.log"; exit 1; }
wait_port "$UP" || { echo "nginx did not start"; exit 1; }

# slipway UPSTREAM_PORT: `slipway serve` with a 5% canary split and session pins.
slipway_start() {
    cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $D/router-state.json
sessions: {max_pins: 100000}
agents:
  bench:
    versions:
      stable: {url: "http://127.0.0.1:$1/v1"}
      canary: {url: "http://127.0.0.1:$1/v1"}
    route: {stable: stable, candidate: canary, weight: 5}
YAML
    rm -f "$D/router.port" "$D/router-state.json"
    "$SLIPWAY" serve --config "$D/router.yaml" --port-file "$D/router.port" -q >"$D/router.log" 2>&1 &
    SPID=$!
    PIDS+=($SPID)
    for i in $(seq 1 200); do [ -s "$D/router.port" ] && break; sleep 0.05; done
    SPORT=$(cat "$D/router.port")
}
# portkey UPSTREAM_PORT: the Portkey gateway; its weighted load-balance config, 95/5 over two
# targets, goes in the x-portkey-config header of every request (PK_HEADER).
portkey_start() {
    PPORT=$(free_port)
    NODE_ENV=production node "$PORTKEY" --port="$PPORT" --headless >"$D/portkey.log" 2>&1 &
    PPID_=$!
    PIDS+=($PPID_)
    wait_port "$PPORT" || { echo "the Portkey gateway did not start"; cat "$D/portkey.log"; exit 1; }
    local t="{\"provider\":\"openai\",\"api_key\":\"sk-bench\",\"custom_host\":\"http://127.0.0.1:$1/v1\""
    PK_HEADER="x-portkey-config: {\"strategy\":{\"mode\":\"loadbalance\"},\"targets\":[$t,\"weight\":0.95},$t,\"weight\":0.05}]}"
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# wrk_cpu PID URL [HEADER]: one saturating wrk run; prints "rps p50_ms p99_ms errors
# requests_per_cpu_second", the last from the proxy's user + system time over the run.
wrk_cpu() {
    local pid=$1 url=$2 hdr=${3:-}
    local lua=$D/post.lua
    {
        cat "$HERE/../router/post.lua"
        [ -n "$hdr" ] && printf 'wrk.headers["%s"] = [[%s]]\n' "${hdr%%: *}" "${hdr#*: }"
    } >"$lua"
    local t0 t1 n
    t0=$(cpu_ticks "$pid")
    wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$lua" "$url/v1/chat/completions" >"$D/wrk.txt" 2>&1
    t1=$(cpu_ticks "$pid")
    n=$(awk '/requests in/ {print $1}' "$D/wrk.txt")
    echo "$(wrk_parse "$D/wrk.txt") $(python3 -c "print(int($n / max(1e-9, ($t1 - $t0) / $(getconf CLK_TCK))))")"
}

echo "# Slipway and the Portkey gateway side by side ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo
echo "Portkey gateway $(node -p "require('$HERE/node_modules/@portkey-ai/gateway/package.json').version"), node $(node --version); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
slipway_start "$UP"
portkey_start "$UP"
# Warm-up: Node's JIT and both connection pools.
wrk_cpu "$SPID" "http://127.0.0.1:$SPORT" >/dev/null
wrk_cpu "$PPID_" "http://127.0.0.1:$PPORT" "$PK_HEADER" >/dev/null
read -r s_rps s_p50 s_p99 s_err s_core < <(wrk_cpu "$SPID" "http://127.0.0.1:$SPORT")
read -r p_rps p_p50 p_p99 p_err p_core < <(wrk_cpu "$PPID_" "http://127.0.0.1:$PPORT" "$PK_HEADER")
echo "## 1. Throughput (saturated, wrk, $CONNS connections, ${DUR} s)"
echo
echo "| proxy | requests/s | p50 ms | p99 ms | errors | requests per CPU-second of the proxy |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
echo "| slipway serve (5% split, pins) | $s_rps | $s_p50 | $s_p99 | $s_err | $s_core |"
echo "| Portkey gateway (loadbalance 95/5) | $p_rps | $p_p50 | $p_p99 | $p_err | $p_core |"
echo
printf "Per core, slipway / Portkey: %.1f; throughput: %.1f.\n\n" "$(echo "$s_core / $p_core" | bc -l)" "$(echo "$s_rps / $p_rps" | bc -l)"

# 2. Open loop at half of the slower proxy's saturation: the rate both sustain.
RATE=$(python3 -c "print(max(50, int(min($s_rps, $p_rps) / 2)))")
lg() { "$LOADGEN" -r "$RATE" -d "$DUR" -w 2 "$@" 2>"$D/lg.err" | lg_parse; }
echo "## 2. Added latency at $RATE requests/s (open loop, half of the slower proxy's saturation, two rounds in turn)"
echo
echo "| round | path | requests/s | p50 ms | p99 ms | errors | added p50 ms | added p99 ms |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for round in 1 2; do
    read -r d_rps d_p50 d_p99 d_err d_lag < <(lg "http://127.0.0.1:$UP/v1/chat/completions")
    echo "| $round | direct | $d_rps | $d_p50 | $d_p99 | $d_err | - | - |"
    read -r rps p50 p99 err lag < <(lg "http://127.0.0.1:$SPORT/v1/chat/completions")
    printf "| %s | slipway serve | %s | %s | %s | %s | %.3f | %.3f |\n" "$round" "$rps" "$p50" "$p99" "$err" "$(echo "$p50 - $d_p50" | bc -l)" "$(echo "$p99 - $d_p99" | bc -l)"
    read -r rps p50 p99 err lag < <(lg -H "$PK_HEADER" "http://127.0.0.1:$PPORT/v1/chat/completions")
    printf "| %s | Portkey gateway | %s | %s | %s | %s | %.3f | %.3f |\n" "$round" "$rps" "$p50" "$p99" "$err" "$(echo "$p50 - $d_p50" | bc -l)" "$(echo "$p99 - $d_p99" | bc -l)"
done
echo
stop_pid "$SPID"
stop_pid "$PPID_"

# 3. Streams, from `slipway mock`: the first token after 100 ms (ttft.yaml).
# mock_start SCENARIO: a mock of its own for each section; MPORT its port.
mock_start() {
    rm -f "$D/mock.port"
    "$SLIPWAY" mock --scenario "$HERE/$1" --port-file "$D/mock.port" --threads 2 >"$D/mock.log" 2>&1 &
    MPID=$!
    PIDS+=($MPID)
    for i in $(seq 1 200); do [ -s "$D/mock.port" ] && break; sleep 0.05; done
    MPORT=$(cat "$D/mock.port")
}
mock_start ttft.yaml
slipway_start "$MPORT"
portkey_start "$MPORT"
streams() { python3 "$HERE/../router/streams.py" "$@"; }
echo "## 3. Time to first token ($TTFT_N streams, 10 at a time; the mock sends the first token after 100 ms)"
echo
echo "| path | whole | TTFT p50 ms | TTFT p99 ms | added p50 ms | added p99 ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
python3 - "$(streams "$MPORT" "$TTFT_N" -c 10)" "$(streams "$SPORT" "$TTFT_N" -c 10)" \
    "$(streams "$PPORT" "$TTFT_N" -c 10 -H "$PK_HEADER")" <<'PY'
import json, sys
d, s, p = (json.loads(a) for a in sys.argv[1:4])
print("| direct | %d | %s | %s | - | - |" % (d["whole"], d["ttft_p50_ms"], d["ttft_p99_ms"]))
for name, r in (("slipway serve", s), ("Portkey gateway", p)):
    if r["ttft_p50_ms"] is None:  # no stream came back whole
        print("| %s | %d | - | - | - | - |" % (name, r["whole"]))
        continue
    print("| %s | %d | %s | %s | %.1f | %.1f |" % (name, r["whole"], r["ttft_p50_ms"], r["ttft_p99_ms"],
          r["ttft_p50_ms"] - d["ttft_p50_ms"], r["ttft_p99_ms"] - d["ttft_p99_ms"]))
PY
echo

stop_pid "$SPID"
stop_pid "$PPID_"
stop_pid "$MPID"

# 4. The whole answer over 15 s (stream15s.yaml): long enough that all STREAMS are open at once.
mock_start stream15s.yaml
slipway_start "$MPORT"
portkey_start "$MPORT"
# hold PID PORT [HEADER]: STREAMS streams at once through the proxy; prints the streams' JSON
# with the proxy's peak RSS (kB) and the most upstream connections seen open at once.
hold() {
    local pid=$1 port=$2
    shift 2
    streams "$port" "$STREAMS" "$@" >"$D/hold.json" &
    local cpid=$! peak=0 n
    while kill -0 "$cpid" 2>/dev/null; do
        n=$(ss -Htn state established "( dport = :$MPORT )" 2>/dev/null | wc -l)
        [ "$n" -gt "$peak" ] && peak=$n
        sleep 0.5
    done
    wait "$cpid"
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); r["rss_kb"] = int(sys.argv[2]); r["peak_upstream"] = int(sys.argv[3]); print(json.dumps(r))' \
        "$D/hold.json" "$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" "$peak"
}
echo "## 4. $STREAMS concurrent streams (15 s each)"
echo
echo "| proxy | streams | whole | most upstream streams open at once | peak RSS MB | KB per stream |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
python3 - "$(hold "$SPID" "$SPORT")" "$(hold "$PPID_" "$PPORT" -H "$PK_HEADER")" <<'PY'
import json, sys
for name, a in (("slipway serve", sys.argv[1]), ("Portkey gateway", sys.argv[2])):
    r = json.loads(a)
    print("| %s | %d | %d | %d | %d | %.1f |" % (name, r["requests"], r["whole"], r["peak_upstream"],
          r["rss_kb"] // 1024, r["rss_kb"] / max(1, r["peak_upstream"])))
PY
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
