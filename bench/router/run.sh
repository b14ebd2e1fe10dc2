#!/usr/bin/env bash
# bench/router/run.sh [BUILD_DIR] - the router's benchmarks, side by side in one run, on loopback:
#   1. throughput against a fast upstream: direct, through `slipway serve`, through nginx
#      (Debian package) proxying the same upstream with split_clients;
#   2. added latency at half of saturation (p50/p99, paced wrk);
#   3. shadow at 100% against shadow off, at the same rate;
#   4. 2,000 concurrent streaming requests (5 s each) held at once: errors and router memory.
# Needs wrk and nginx (apt-get install wrk nginx) and python3. Prints a Markdown table.
# The upstream is nginx returning a fixed chat completion, the fastest upstream there is.
set -uo pipefail
BUILD=${1:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
export BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
DUR=${DUR:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 77; }
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
D=$(mktemp -d /tmp/bench-router.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [ -f "$D/nginx.pid" ] && kill "$(cat "$D/nginx.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$D"
}
trap cleanup EXIT
ulimit -n 20000 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for i in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

UP=$(free_port)
NGX=$(free_port)
cat >"$D/nginx.conf" <<NGINX
worker_processes 1;
pid $D/nginx.pid;
error_log $D/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $D/body;
    proxy_temp_path $D/proxy;
    upstream stable { server 127.0.0.1:$UP; keepalive 128; }
    upstream canary { server 127.0.0.1:$UP; keepalive 128; }
    split_clients "\${http_x_slipway_session}" \$backend { 5% canary; * stable; }
    server {
        listen 127.0.0.1:$UP;
        location / {
            default_type application/json;
            return 200 '{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}';
        }
    }
    server {
        listen 127.0.0.1:$NGX;
        location / {
            proxy_pass http://\$backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
nginx -c "$D/nginx.conf" -g 'daemon on; master_process on;' || { cat "$D/nginx-error.log"; exit 1; }
wait_port "$UP" && wait_port "$NGX" || { echo "nginx did not start"; exit 1; }

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
      shadow: {url: "http://127.0.0.1:$UP/v1"}
    route: {stable: stable, candidate: canary, weight: 5 $1}
YAML
    rm -f "$D/router.port" "$D/router-state.json"
    "$SLIPWAY" serve --config "$D/router.yaml" --port-file "$D/router.port" -q >"$D/router.log" 2>&1 &
    RPID=$!
    PIDS+=($RPID)
    for i in $(seq 1 200); do [ -s "$D/router.port" ] && break; sleep 0.05; done
    RPORT=$(cat "$D/router.port")
}
stop_router() { kill "$RPID"; wait "$RPID" 2>/dev/null; }

# wrk_run URL [paced]: prints "rps p50_ms p99_ms errors" for one wrk run.
wrk_run() {
    local url=$1 script=$BENCH_DIR/post.lua conns=$CONNS
    if [ "${2:-}" = paced ]; then script=$BENCH_DIR/paced.lua; conns=$PACED_CONNS; fi
    wrk -t"$THREADS" -c"$conns" -d"${DUR}s" --latency -s "$script" "$url/v1/chat/completions" >"$D/wrk.txt" 2>&1
    python3 - "$D/wrk.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, t, re.M)
    if not m:
        return float("nan")
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
e = (int(errs.group(1)) if errs else 0) + (sum(map(int, sock.groups())) if sock else 0)
print("%.0f %.3f %.3f %d" % (rps, ms("50"), ms("99"), e))
PY
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

# 2. Half of the router's saturation, paced: each connection waits 10 ms between requests.
HALF=$(python3 -c "print(int(float('$r_rps') / 2))")
PACED_CONNS=$(python3 -c "print(max(1, round($HALF * 0.010)))")
export DELAY_MS=10
read -r pd_rps pd_p50 pd_p99 pd_err < <(wrk_run "http://127.0.0.1:$UP" paced)
read -r pr_rps pr_p50 pr_p99 pr_err < <(wrk_run "http://127.0.0.1:$RPORT" paced)
read -r pn_rps pn_p50 pn_p99 pn_err < <(wrk_run "http://127.0.0.1:$NGX" paced)
stop_router
echo "## 2. Latency at half of the router's saturation (~$HALF requests/s: $PACED_CONNS connections, 10 ms apart)"
echo
echo "| path | requests/s | p50 ms | p99 ms | added p50 ms | added p99 ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf "| direct | %s | %s | %s | - | - |\n" "$pd_rps" "$pd_p50" "$pd_p99"
printf "| slipway serve | %s | %s | %s | %.3f | %.3f |\n" "$pr_rps" "$pr_p50" "$pr_p99" "$(echo "$pr_p50 - $pd_p50" | bc -l)" "$(echo "$pr_p99 - $pd_p99" | bc -l)"
printf "| nginx | %s | %s | %s | %.3f | %.3f |\n" "$pn_rps" "$pn_p50" "$pn_p99" "$(echo "$pn_p50 - $pd_p50" | bc -l)" "$(echo "$pn_p99 - $pd_p99" | bc -l)"
echo

# 3. Shadow at 100% against shadow off, same pace.
router ", shadow: {version: shadow, percent: 100}"
wrk_run "http://127.0.0.1:$RPORT" paced >/dev/null
read -r so_rps so_p50 so_p99 so_err < <(wrk_run "http://127.0.0.1:$RPORT" paced)
pairs=$(curl -s "http://127.0.0.1:$RPORT/metrics" | awk '/^slipway_shadow_pairs_total/ {s += $NF} END {print s + 0}')
dropped=$(curl -s "http://127.0.0.1:$RPORT/metrics" | awk '/^slipway_shadow_dropped_total/ {s += $NF} END {print s + 0}')
stop_router
echo "## 3. Shadow at 100% (same pace)"
echo
echo "| router | requests/s | p50 ms | p99 ms | shadow pairs | dropped |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
printf "| shadow off | %s | %s | %s | - | - |\n" "$pr_rps" "$pr_p50" "$pr_p99"
printf "| shadow 100%% | %s | %s | %s | %s | %s |\n" "$so_rps" "$so_p50" "$so_p99" "$pairs" "$dropped"
echo

# 4. 2,000 streams of 5 s held at once, against `slipway mock`.
N=${STREAMS:-2000}
"$SLIPWAY" mock --scenario "$BENCH_DIR/stream5s.yaml" --port-file "$D/mock.port" --threads 2 >"$D/mock.log" 2>&1 &
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
