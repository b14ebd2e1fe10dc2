# bench/lib.sh - shell helpers shared by the loopback benchmarks (bench/router, bench/gateways).
# Source it after setting D (the run's temp folder) and, optionally, CPU_LOAD (a taskset prefix
# for the load generators).

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/loopback.sh"
wait_port() { for i in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

# The fastest upstream there is: nginx answering every POST with a fixed chat completion.
BENCH_ANSWER='{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}'
upstream_server() { echo "server { listen 127.0.0.1:$1; location / { default_type application/json; return 200 '$BENCH_ANSWER'; } }"; }

# nginx_conf NAME BODY: a one-worker nginx of its own (pid, logs and temp files under $D/NAME).
nginx_conf() {
    cat >"$D/$1.conf" <<NGINX
worker_processes 1;
pid $D/$1.pid;
error_log $D/$1-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $D/$1-body;
    proxy_temp_path $D/$1-proxy;
    $2
}
NGINX
}

# wrk_parse FILE: "rps p50_ms p99_ms errors" from one wrk --latency output.
wrk_parse() {
    python3 - "$1" <<'PY'
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

# lg_parse: bench_loadgen's key=value line on stdin -> "rps p50_ms p99_ms errors lag_p99_ms".
lg_parse() {
    python3 -c '
import sys
kv = dict(f.split("=") for f in sys.stdin.read().split())
print("%.0f %.3f %.3f %s %.3f" % (float(kv["achieved"]), int(kv["p50_us"]) / 1000, int(kv["p99_us"]) / 1000,
      kv["errors"], int(kv["lag_p99_us"]) / 1000))'
}

# cpu_ticks PID: user + system clock ticks the process (all its threads) has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ---- Per-request cost of `slipway serve` (bench/router/profile.sh, bench/router/protocols.sh) ----
# These use SLIPWAY (the binary), BENCH_DIR (bench/router) and D; CG_THREADS=--separate-threads=yes
# makes callgrind count each thread apart (the event loop is the main thread, file <out>-01).

# wait_http PORT: up to 30 s for GET /healthz on PORT (a router under valgrind starts slowly).
wait_http() { for i in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return 0; sleep 0.1; done; return 1; }

# The wrk script of the callgrind runs: post.lua's requests (WRK_BODY, when set, is the body),
# stopping after $NREQ answers.
count_lua() {
    cat >"$D/count.lua" <<LUA
dofile("$BENCH_DIR/post.lua")
local n, limit = 0, tonumber(os.getenv("NREQ"))
response = function() n = n + 1; if n >= limit then wrk.thread:stop() end end
LUA
}

# cg_total FILE: the instructions callgrind counted in one output file.
cg_total() { grep -E "^(summary|totals):" "$1" | head -1 | awk '{print $2}'; }

# router_callgrind CONFIG PORT N URL: `slipway serve --config CONFIG` (listening on PORT) under
# callgrind while wrk sends N requests to URL, 16 at a time; prints "instructions
# worker_instructions requests": the event loop's instructions without sw_router_tick (the
# time-driven state saves, whose count depends on speed) and, with CG_THREADS, the shadow
# worker thread's (else 0). Callgrind's files are $D/cg.N*; the state file is removed first.
router_callgrind() {
    local config=$1 port=$2 n=$3 url=$4
    rm -f "$D/router-state.json" "$D"/cg.$n*
    [ -f "$D/count.lua" ] || count_lua
    valgrind --tool=callgrind ${CG_THREADS:-} --callgrind-out-file="$D/cg.$n" "$SLIPWAY" serve --config "$config" -q >"$D/vg.log" 2>&1 &
    local pid=$!
    wait_http "$port" || { echo "the router did not start" >&2; cat "$D/vg.log" >&2; kill "$pid"; return 1; }
    # wrk.thread:stop() ends the requests, not the run: -d is an upper bound (valgrind
    # serves a few hundred requests a second).
    NREQ=$n wrk -t1 -c16 -d$((n / 50 + 10))s -s "$D/count.lua" "$url" >"$D/wrk.$n" 2>&1
    kill -INT "$pid"
    wait "$pid"
    local tot tick req out=$D/cg.$n worker=0 f
    [ -n "${CG_THREADS:-}" ] && out=$D/cg.$n-01 # the event loop: the main thread
    tot=$(cg_total "$out")
    tick=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep -E "sw_router_tick( |$)" | head -1 | awk '{gsub(",", "", $1); print $1}')
    # The shadow worker: the thread whose file has shadow.c's worker().
    for f in "$D"/cg.$n-*; do
        [ -n "${CG_THREADS:-}" ] && [ "$f" != "$out" ] || continue
        # (a here-string: grep -q closing the pipe early would fail it under pipefail)
        grep -qE "shadow.c:worker( |$)" <<<"$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null)" &&
            worker=$(cg_total "$f")
    done
    req=$(awk '/requests in/ {print $1}' "$D/wrk.$n")
    grep -q "Non-2xx" "$D/wrk.$n" && echo "non-2xx answers: $(grep Non-2xx "$D/wrk.$n")" >&2
    echo "$((tot - ${tick:-0})) $worker $req"
}

# router_strace PID URL: the system calls of PID's main thread (the event loop; without -f, as
# the state writer and shadow worker wait in poll) during a 4 s saturating wrk run (64
# connections, post.lua with WRK_BODY) to URL, after 2 s of warm-up; prints the requests served
# and leaves strace -c's table in $D/strace.txt.
router_strace() {
    local pid=$1 url=$2
    wrk -t1 -c64 -d2s -s "$BENCH_DIR/post.lua" "$url" >/dev/null 2>&1
    timeout 6 strace -c -p "$pid" -o "$D/strace.txt" 2>/dev/null &
    local sp=$!
    sleep 0.5
    wrk -t1 -c64 -d4s -s "$BENCH_DIR/post.lua" "$url" >"$D/wrk.strace" 2>&1
    wait "$sp" 2>/dev/null
    grep -q "Non-2xx" "$D/wrk.strace" && echo "non-2xx answers: $(grep Non-2xx "$D/wrk.strace")" >&2
    awk '/requests in/ {print $1}' "$D/wrk.strace"
}

# strace_rows N: $D/strace.txt as Markdown rows "| call | per request |" over N requests (calls
# under 0.01 a request left out), then "| all | ... |".
strace_rows() {
    awk -v n="$1" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" && $NF != "restart_syscall" {
        c[$NF] = $4; s += $4 } END { for (k in c) if (c[k] / n >= 0.01) printf "| %s | %.2f |\n", k, c[k] / n; printf "| all | %.2f |\n", s / n }' "$D/strace.txt"
}
