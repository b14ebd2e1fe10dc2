# bench/lib.sh - shell helpers shared by the loopback benchmarks (bench/router, bench/gateways).
# Source it after setting D (the run's temp folder) and, optionally, CPU_LOAD (a taskset prefix
# for the load generators).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
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
