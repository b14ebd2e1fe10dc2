#!/usr/bin/env bash
# bench/router/profile.sh [BUILD_DIR] - the router's cost per proxied request in figures that do
# not depend on how busy the machine is:
#   - user-space instructions per request (valgrind --tool=callgrind, the difference between a
#     run of N_SMALL and one of N_BIG requests, so start-up and shut-down cancel out; the
#     time-driven state saves, sw_router_tick, are left out as their count depends on speed);
#   - system calls per request (strace -c on the router's loop thread under a saturating wrk run).
# Same upstream and router configuration as run.sh. Needs wrk, nginx, valgrind, strace.
# SLIPWAY=path overrides the binary (e.g. an older build, with LD_LIBRARY_PATH for its library).
# SHADOW=1 shadows every request to a third version (run.sh's shadow setup) and counts the
# instructions of the event loop's thread apart (the shadow worker's work is off the primary
# path), then the shadow worker's own.
set -uo pipefail
BUILD=${1:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
N_SMALL=${N_SMALL:-200}
N_BIG=${N_BIG:-4200}
SHADOW=${SHADOW:-0}
for t in wrk nginx valgrind strace callgrind_annotate; do
    command -v $t >/dev/null || { echo "needs $t"; exit 77; }
done
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
D=$(mktemp -d /tmp/bench-router-prof.XXXXXX)
RPID=
cleanup() {
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
    [ -f "$D/nginx.pid" ] && kill "$(cat "$D/nginx.pid")" 2>/dev/null
    sleep 0.3
    rm -rf "$D"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for i in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.1; done; return 1; }

UP=$(free_port)
RP=$(free_port)
cat >"$D/nginx.conf" <<NGINX
worker_processes 1;
pid $D/nginx.pid;
error_log $D/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $D/body;
    server {
        listen 127.0.0.1:$UP;
        location / {
            default_type application/json;
            return 200 '{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}';
        }
    }
}
NGINX
nginx -c "$D/nginx.conf" -g 'daemon on; master_process on;' || exit 1
SHADOW_CFG= SHADOW_VER= SHADOW_ROUTE= CG_THREADS=
if [ "$SHADOW" = 1 ]; then
    SHADOW_CFG="shadow: {queue: 10000, concurrency: 64}"
    SHADOW_VER="shadow: {url: \"http://127.0.0.1:$UP/v1\"}"
    SHADOW_ROUTE=", shadow: {version: shadow, percent: 100}"
    CG_THREADS=--separate-threads=yes
fi
cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:$RP
state_file: $D/router-state.json
sessions: {max_pins: 100000}
$SHADOW_CFG
agents:
  bench:
    versions:
      stable: {url: "http://127.0.0.1:$UP/v1"}
      canary: {url: "http://127.0.0.1:$UP/v1"}
      $SHADOW_VER
    route: {stable: stable, candidate: canary, weight: 5 $SHADOW_ROUTE}
YAML
cat >"$D/count.lua" <<LUA
dofile("$BENCH_DIR/post.lua")
local n, limit = 0, tonumber(os.getenv("NREQ"))
response = function() n = n + 1; if n >= limit then wrk.thread:stop() end end
LUA

# total FILE: the instructions callgrind counted in one output file.
total() { grep -E "^(summary|totals):" "$1" | head -1 | awk '{print $2}'; }
# callgrind N: prints "instructions worker_instructions requests" (instructions of the event
# loop without sw_router_tick; the shadow worker's, with SHADOW=1, else 0).
callgrind() {
    rm -f "$D/router-state.json"
    valgrind --tool=callgrind $CG_THREADS --callgrind-out-file="$D/cg.$1" "$SLIPWAY" serve --config "$D/router.yaml" -q >"$D/vg.log" 2>&1 &
    RPID=$!
    wait_http "$RP" || { echo "the router did not start"; cat "$D/vg.log"; exit 1; }
    # wrk.thread:stop() ends the requests, not the run: -d is an upper bound (valgrind
    # serves a few hundred requests a second).
    NREQ=$1 wrk -t1 -c16 -d$(($1 / 100 + 10))s -s "$D/count.lua" "http://127.0.0.1:$RP/v1/chat/completions" >"$D/wrk.$1" 2>&1
    kill -INT "$RPID"; wait "$RPID"; RPID=
    local tot tick req out=$D/cg.$1 worker=0 f
    [ -n "$CG_THREADS" ] && out=$D/cg.$1-01 # the event loop: the main thread
    tot=$(total "$out")
    tick=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -E "sw_router_tick( |$)" | head -1 | awk '{gsub(",", "", $1); print $1}')
    # The shadow worker: the thread whose file has shadow.c's worker().
    for f in "$D"/cg.$1-*; do
        [ -n "$CG_THREADS" ] && [ "$f" != "$out" ] || continue
        # (a here-string: grep -q closing the pipe early would fail it under pipefail)
        grep -qE "shadow.c:worker( |$)" <<<"$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null)" &&
            worker=$(total "$f")
    done
    req=$(awk '/requests in/ {print $1}' "$D/wrk.$1")
    echo "$((tot - ${tick:-0})) $worker $req"
}
read -r i1 w1 n1 < <(callgrind "$N_SMALL")
read -r i2 w2 n2 < <(callgrind "$N_BIG")
echo "# slipway serve: cost per proxied request ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "User-space instructions per request (callgrind, $n2 - $n1 requests): $(( (i2 - i1) / (n2 - n1) ))"
[ "$SHADOW" = 1 ] && echo "Of the shadow worker thread, per shadowed request: $(( (w2 - w1) / (n2 - n1) ))"

"$SLIPWAY" serve --config "$D/router.yaml" -q >"$D/router.log" 2>&1 &
RPID=$!
wait_http "$RP" || exit 1
wrk -t1 -c64 -d2s -s "$BENCH_DIR/post.lua" "http://127.0.0.1:$RP/v1/chat/completions" >/dev/null 2>&1
# The event loop is the main thread (no -f: the state writer and shadow worker wait in poll).
timeout 6 strace -c -p "$RPID" -o "$D/strace.txt" 2>/dev/null &
SP=$!
sleep 0.5
wrk -t1 -c64 -d4s -s "$BENCH_DIR/post.lua" "http://127.0.0.1:$RP/v1/chat/completions" >"$D/wrk.strace" 2>&1
wait "$SP" 2>/dev/null
req=$(awk '/requests in/ {print $1}' "$D/wrk.strace")
echo "System calls per request of the event loop (strace -c, $req requests, wrk -c64):"
echo
echo "| call | per request |"
echo "| --- | ---: |"
rows() { awk -v n="$req" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" && $NF != "restart_syscall" {
    c[$NF] = $4; s += $4 } END { for (k in c) if (c[k] / n >= 0.01) printf "| %s | %.2f |\n", k, c[k] / n; printf "| all | %.2f |\n", s / n }' "$D/strace.txt"; }
rows | grep -v '^| all ' | sort -t'|' -k3 -rn
rows | grep '^| all '
echo
