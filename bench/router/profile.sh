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
. "$BENCH_DIR/../lib.sh"

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
URL=http://127.0.0.1:$RP/v1/chat/completions
read -r i1 w1 n1 < <(router_callgrind "$D/router.yaml" "$RP" "$N_SMALL" "$URL")
read -r i2 w2 n2 < <(router_callgrind "$D/router.yaml" "$RP" "$N_BIG" "$URL")
echo "# slipway serve: cost per proxied request ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "User-space instructions per request (callgrind, $n2 - $n1 requests): $(( (i2 - i1) / (n2 - n1) ))"
[ "$SHADOW" = 1 ] && echo "Of the shadow worker thread, per shadowed request: $(( (w2 - w1) / (n2 - n1) ))"

"$SLIPWAY" serve --config "$D/router.yaml" -q >"$D/router.log" 2>&1 &
RPID=$!
wait_http "$RP" || exit 1
req=$(router_strace "$RPID" "$URL")
echo "System calls per request of the event loop (strace -c, $req requests, wrk -c64):"
echo
echo "| call | per request |"
echo "| --- | ---: |"
strace_rows "$req" | grep -v '^| all ' | sort -t'|' -k3 -rn
strace_rows "$req" | grep '^| all '
echo
