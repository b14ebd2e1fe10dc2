#!/usr/bin/env bash
# bench/store/run.sh [BUILD_DIR] - the PostgreSQL release store side by side with the folder
# store, in one run, on loopback (issue 14):
#   1. release create and read latency per operation through the library (bench_store: create,
#      manifest, release folder on an empty cache and again), p50/p99 and the ratios;
#   2. the same as whole CLI processes: `slipway releases create` and `slipway releases show`
#      wall time per command;
#   3. one `slipway serve` replica's throughput in gateway mode (wrk, saturated), its release
#      read from `--store postgres://...` against `--store FOLDER`, `slipway mock` upstream:
#      both replicas up at once, measured in short runs in turn (folder, postgres, folder, ...)
#      so that the machine's load hits both alike; the median of the rounds' ratios.
# The server is scripts/lib/postgres.sh's (the tests' too; PostgreSQL 15 from the Debian
# package), durable by default as the folder store is (it fsyncs every write): PG_DURABLE=0
# runs it as the tests do, fsync off. Needs wrk (apt-get install wrk) and python3.
# N (releases through the library, 200), CLI_N (CLI commands per kind, 30), DUR (seconds per
# wrk run, 5), CONNS (wrk connections, 64), MOCK_THREADS (the upstream's threads, 2).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$SRC/build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
BENCH_STORE=${BENCH_STORE:-$BUILD/bin/bench_store}
N=${N:-200}
CLI_N=${CLI_N:-30}
DUR=${DUR:-5}
CONNS=${CONNS:-64}
MOCK_THREADS=${MOCK_THREADS:-2}
ROUNDS=${ROUNDS:-6}
export PG_DURABLE=${PG_DURABLE:-1}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)"; exit 77; }
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
[ -x "$BENCH_STORE" ] || { echo "no bench_store at $BENCH_STORE (built with the project)"; exit 2; }
BENCH_NAME=store
. "$SRC/bench/postgres.sh"
. "$HERE/../lib.sh"
DB=$SLIPWAY_TEST_PG_URL
FOLDER=$D/folder-store
export SLIPWAY_USER=bench SLIPWAY_STORE_CACHE=$D/cache SLIPWAY_STATE_DIR=$D/state
"$SLIPWAY" store init --store "$DB" >/dev/null || { echo "store init failed"; exit 1; }

echo "# The PostgreSQL release store against the folder store ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo
durability="fsync and synchronous commit on, as PostgreSQL ships"
[ "$PG_DURABLE" = 1 ] || durability="fsync off, as the tests run it"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on loopback (scripts/lib/postgres.sh, $durability); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# 1. The library, per operation. Each backend gets a bundle copy of its own.
lib_run() {
    rm -rf "$D/bundle-$1"
    cp -r "$SRC/examples/support-agent" "$D/bundle-$1"
    "$BENCH_STORE" "$2" "$D/bundle-$1" "$N" "$D/fresh-cache-$1" 2>"$D/bench-$1.err" >"$D/bench-$1.txt" ||
        { echo "bench_store on $1 failed:"; cat "$D/bench-$1.err"; exit 1; }
}
lib_run folder "$FOLDER"
lib_run postgres "$DB"
echo "## 1. Release create and read through the library ($N releases of examples/support-agent, one process per store)"
echo
python3 - "$D/bench-folder.txt" "$D/bench-postgres.txt" <<'PY'
import sys
def load(p):
    return {kv["op"]: kv for kv in (dict(f.split("=") for f in l.split()) for l in open(p))}
f, p = load(sys.argv[1]), load(sys.argv[2])
names = {"open": "open the store", "create": "create a release", "manifest": "read its manifest",
         "dir_cold": "its folder, empty cache", "dir_warm": "its folder again (warm cache)"}
print("| operation | folder p50 us | folder p99 us | postgres p50 us | postgres p99 us | p50 ratio | p99 ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for op, name in names.items():
    a, b = f[op], p[op]
    # A folder's figure of a few us is a path and a stat: a ratio to it says nothing.
    r = lambda k: "%.1f" % (int(b[k]) / int(a[k])) if int(a[k]) >= 50 else "-"
    print("| %s | %s | %s | %s | %s | %s | %s |" % (name, a["p50_us"], a["p99_us"], b["p50_us"], b["p99_us"],
          r("p50_us"), r("p99_us")))
PY
echo
echo "Ratios are postgres / folder; none where the folder's figure is a path and a stat (under 50 us)."
echo

# 2. Whole CLI processes: what a pipeline step or an operator pays per command.
python3 - "$SLIPWAY" "$SRC/examples/support-agent" "$D" "$CLI_N" "$FOLDER" "$DB" <<'PY'
import json, os, shutil, subprocess, sys, time
slipway, bundle, d, n, folder, db = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(p / 100 * len(xs) + 0.999999) - 1))]
def measure(name, store):
    b = os.path.join(d, "cli-bundle-" + name)
    shutil.rmtree(b, ignore_errors=True)
    shutil.copytree(bundle, b)
    create, show, ids = [], [], []
    for i in range(n):
        with open(os.path.join(b, "prompts", "system.md"), "a") as f:
            f.write("\nCLI bench line %d at %f.\n" % (i, time.time()))
        t0 = time.monotonic()
        out = subprocess.run([slipway, "releases", "create", b, "--allow-dirty", "--json", "--store", store],
                             check=True, capture_output=True, text=True).stdout
        create.append((time.monotonic() - t0) * 1000)
        ids.append(json.loads(out)["id"])
    for i in ids:
        t0 = time.monotonic()
        subprocess.run([slipway, "releases", "show", i, "--json", "--store", store],
                       check=True, stdout=subprocess.DEVNULL)
        show.append((time.monotonic() - t0) * 1000)
    return create, show
t0 = time.monotonic()
for _ in range(n):
    subprocess.run(["/bin/true"], check=True)
true_ms = (time.monotonic() - t0) * 1000 / n
fc, fs = measure("folder", folder)
pc, ps = measure("postgres", db)
print("## 2. The same as CLI processes (%d commands of each kind per store, wall time per process)" % n)
print()
print("| command | folder p50 ms | folder p99 ms | postgres p50 ms | postgres p99 ms | p50 ratio | p99 ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, a, b in (("slipway releases create", fc, pc), ("slipway releases show (verifies)", fs, ps)):
    print("| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |" % (name, pct(a, 50), pct(a, 99), pct(b, 50), pct(b, 99),
          pct(b, 50) / pct(a, 50), pct(b, 99) / pct(a, 99)))
print()
print("Starting /bin/true takes %.1f ms on this machine." % true_ms)
print()
PY

# 3. One replica in gateway mode, its release read from each store.
rm -f "$D/mock.port"
"$SLIPWAY" mock --scenario "$HERE/provider.yaml" --port-file "$D/mock.port" --threads "$MOCK_THREADS" >"$D/mock.log" 2>&1 &
PIDS+=($!)
for i in $(seq 1 200); do [ -s "$D/mock.port" ] && break; sleep 0.05; done
MPORT=$(cat "$D/mock.port")
rm -rf "$D/gw-bundle"
cp -r "$SRC/examples/support-agent" "$D/gw-bundle"
for store in "$FOLDER" "$DB"; do
    id=$("$SLIPWAY" releases create "$D/gw-bundle" --allow-dirty --json --store "$store" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || { echo "release in $store failed"; exit 1; }
    "$SLIPWAY" releases set support-agent stable "$id" --store "$store" --reason bench >/dev/null ||
        { echo "stable in $store failed"; exit 1; }
done
export SW_BENCH_PROVIDER_KEY=sk-bench-not-a-real-key
# gateway STORE NAME: a `slipway serve` replica on STORE; its pid and port in RPID[NAME] and
# RPORT[NAME].
declare -A RPID RPORT
gateway() {
    cat >"$D/router-$2.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $D/router-state-$2.json
sessions: {max_pins: 100000}
providers:
  openai: {base_url: "http://127.0.0.1:$MPORT/v1", api_key_env: SW_BENCH_PROVIDER_KEY}
agents:
  support-agent:
    mode: gateway
    route: {stable: "support-agent:stable"}
YAML
    rm -f "$D/router.port"
    "$SLIPWAY" serve --config "$D/router-$2.yaml" --store "$1" --port-file "$D/router.port" -q >"$D/router-$2.log" 2>&1 &
    RPID[$2]=$!
    PIDS+=($!)
    for i in $(seq 1 200); do [ -s "$D/router.port" ] && break; sleep 0.05; done
    [ -s "$D/router.port" ] || { echo "serve on $2 did not start:"; cat "$D/router-$2.log"; exit 1; }
    RPORT[$2]=$(cat "$D/router.port")
}
# wrk_cpu NAME: one saturating run against that replica; "rps p50_ms p99_ms errors
# requests_per_cpu_s".
wrk_cpu() {
    local t0 t1 n
    t0=$(cpu_ticks "${RPID[$1]}")
    wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$HERE/post.lua" "http://127.0.0.1:${RPORT[$1]}/v1/chat/completions" >"$D/wrk.txt" 2>&1
    t1=$(cpu_ticks "${RPID[$1]}")
    n=$(awk '/requests in/ {print $1}' "$D/wrk.txt")
    echo "$(wrk_parse "$D/wrk.txt") $(python3 -c "print(int($n / max(1e-9, ($t1 - $t0) / $(getconf CLK_TCK))))")"
}
# check_answer NAME: the answer must be a 200 (a replica that could not read its release would
# answer errors, fast).
check_answer() {
    local code
    code=$(curl -s -o "$D/answer.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
        "http://127.0.0.1:${RPORT[$1]}/v1/chat/completions")
    [ "$code" = 200 ] || { echo "serve on $1 answered $code:"; cat "$D/answer.json" "$D/router-$1.log"; exit 1; }
}
# xacts: "TRANSACTIONS AUTOVACUUM_RUNS" so far in the database (the server's own autovacuum
# and autoanalyze runs count transactions there too, after the releases written). Each reading adds two of its own, counted by the
# next (its session's start and its query); the counters reach pg_stat_database within a
# second, hence the wait.
xacts() {
    sleep 1.1
    "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -Atc \
        "SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'slipway') || ' ' ||
                (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_user_tables)"
}
# Both replicas up at once, measured in short runs in turn, so that a change in the machine's
# load between runs hits both alike.
gateway "$FOLDER" folder
gateway "$DB" postgres
for name in folder postgres; do
    check_answer $name
    wrk_cpu $name >/dev/null # warm-up: connections, pins
done
echo "## 3. One replica in gateway mode: throughput with each store (wrk -t1 -c$CONNS -d${DUR}s, slipway mock upstream, $ROUNDS rounds in turn)"
echo
echo "| round | store | requests/s | p50 ms | p99 ms | errors | requests per CPU-second of the replica |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
XACTS=0 REQS=0 VACS=0
RATIOS=() CORE_RATIOS=()
for round in $(seq 1 "$ROUNDS"); do
    for name in folder postgres; do
        read -r x0 v0 < <(xacts)
        read -r rps p50 p99 err core < <(wrk_cpu $name)
        if [ $name = postgres ]; then
            read -r x1 v1 < <(xacts)
            XACTS=$((XACTS + x1 - x0 - 2))
            VACS=$((VACS + v1 - v0))
            REQS=$((REQS + $(awk '/requests in/ {print $1}' "$D/wrk.txt")))
            RATIOS+=("$(echo "$rps / $f_rps" | bc -l)")
            CORE_RATIOS+=("$(echo "$core / $f_core" | bc -l)")
        else
            f_rps=$rps f_core=$core
        fi
        echo "| $round | $name | $rps | $p50 | $p99 | $err | $core |"
    done
done
echo
python3 - "${RATIOS[*]}" "${CORE_RATIOS[*]}" <<'PY'
import statistics, sys
r, c = ([float(x) for x in a.split()] for a in sys.argv[1:3])
print("Throughput, postgres / folder, the median of the rounds' ratios: %.2f (from %.2f to %.2f; target >= 0.95); "
      "per CPU-second of the replica: %.2f." % (statistics.median(r), min(r), max(r), statistics.median(c)))
PY
echo
echo "During the measured postgres runs the database saw $XACTS transactions (besides the counter's own reads) for $REQS requests, while autovacuum and autoanalyze ran $VACS times: the replica reads a release when a route names it, not per request."
