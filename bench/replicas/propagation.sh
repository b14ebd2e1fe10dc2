#!/usr/bin/env bash
# bench/replicas/propagation.sh [BUILD_DIR] - route propagation across three `slipway serve`
# replicas on one PostgreSQL store (issue 14): N route changes (weight steps) through replica
# A's admin API, each timed from A's 200 to the moment replicas B and C each first answer
# GET .../route with the new version (polled over keep-alive connections, about every 0.2 ms);
# prints p50, p99 and max per replica. The server is scripts/lib/postgres.sh's
# (the tests' too, fsync off unless PG_DURABLE=1). N (changes, 200).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$SRC/build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
N=${N:-200}
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
BENCH_NAME=replicas
. "$SRC/bench/postgres.sh"
export SLIPWAY_STORE_CACHE=$D/cache
cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:0
store: $SLIPWAY_TEST_PG_URL
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:9/v1"}
      v2: {url: "http://127.0.0.1:9/v1"}
    route: {stable: v1, candidate: v2, weight: 0}
YAML
ports=()
for n in A B C; do
    "$SLIPWAY" serve -q --config "$D/router.yaml" --state-file "$D/$n.json" --port-file "$D/$n.port" >"$D/$n.log" 2>&1 &
    PIDS+=($!)
    for i in $(seq 1 200); do [ -s "$D/$n.port" ] && break; sleep 0.05; done
    [ -s "$D/$n.port" ] || { echo "replica $n did not start"; cat "$D/$n.log"; exit 1; }
    ports+=("$(cat "$D/$n.port")")
done
echo "# Route propagation across three replicas ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$N" "${ports[@]}" <<'PY'
import http.client, json, sys, threading, time
n, ports = int(sys.argv[1]), sys.argv[2:]
path = "/admin/agents/support-agent/route"
def conn(p): return http.client.HTTPConnection("127.0.0.1", int(p), timeout=10)
def get_version(c):
    c.request("GET", path); return json.loads(c.getresponse().read())["version"]
a = conn(ports[0])
version = get_version(a)
delays = {"B": [], "C": []}
for i in range(n):
    body = json.dumps({"version": version, "weight": (i % 99) + 1})
    a.request("PUT", path, body, {"Content-Type": "application/json"})
    r = a.getresponse(); r.read()
    assert r.status == 200, r.status
    t0 = time.perf_counter()
    version += 1
    def watch(name, port):
        c = conn(port)
        while get_version(c) < version:
            time.sleep(0.0002)
        delays[name].append((time.perf_counter() - t0) * 1000)
        c.close()
    ts = [threading.Thread(target=watch, args=(k, p)) for k, p in zip("BC", ports[1:])]
    [t.start() for t in ts]; [t.join() for t in ts]
def pct(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]
print(f"\n{n} changes through replica A; delay from A's answer to the change seen on each replica:\n")
print("| replica | p50 ms | p99 ms | max ms |")
print("| --- | ---: | ---: | ---: |")
for k, xs in delays.items():
    print(f"| {k} | {pct(xs, .5):.2f} | {pct(xs, .99):.2f} | {max(xs):.2f} |")
PY
