#!/usr/bin/env bash
# bench/replicas/pins.sh [BUILD_DIR] - what shared pins cost (issue 14), in one run on loopback:
#   1. the new-session write rate: one replica on the PostgreSQL store and one on the folder
#      store, both up at once in front of the same nginx upstream, each saturated in turn by wrk
#      with a new conversation on every request (new-sessions.lua: client-chosen keys, which
#      cost a read of slipway.pins each, and router-generated ones, which do not). For the
#      postgres replica the table's row count and the write-behind queue
#      (slipway_shared_pins_queued) are sampled every 0.25 s: pins committed per second during
#      the run, the longest queue, and how long after the run the queue took to empty;
#   2. the write-behind's own rate: the database stopped while wrk runs, then started again,
#      and the queued pins timed as they drain;
#   3. a replica's memory per pin: a fresh postgres replica given NEW_HTTP s of new sessions
#      through HTTP (its RSS before and after, per pin), and the database's bytes per row for
#      the rows those wrote;
#   4. a million pins in the database: rows of the router's shape loaded straight into
#      slipway.pins (through HTTP that would take minutes here), their size with the indexes,
#      then all expired and timed as one replica's sweep deletes them, with route changes
#      through another replica timed meanwhile to the sweeping one;
#   5. a million pins in one replica: a replica started from a state file holding a million
#      pins against one whose state file holds none (RSS, bytes per pin, start-up time).
# The server is the test fixture's, durable as PostgreSQL ships (PG_DURABLE=1; 0: fsync off,
# as the tests run it). Needs wrk, nginx and python3. DUR (seconds per wrk run, 5), CONNS (wrk
# connections, 32), ROUNDS (rounds of each kind, 3), NEW_HTTP (seconds of new sessions for 3,
# 15), MILLION (rows for 4 and 5, 1000000).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$SRC/build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
DUR=${DUR:-5}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
NEW_HTTP=${NEW_HTTP:-15}
MILLION=${MILLION:-1000000}
export PG_DURABLE=${PG_DURABLE:-1}
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 77; }
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
BENCH_NAME=pins
. "$SRC/bench/postgres.sh"
. "$SRC/bench/lib.sh"
DB=$SLIPWAY_TEST_PG_URL
export SLIPWAY_STORE_CACHE=$D/cache
ulimit -n 20000 2>/dev/null
"$SLIPWAY" store init --store "$DB" >/dev/null || { echo "store init failed"; exit 1; }
sql() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -Atc "$1"; }

UP=$(free_port)
nginx_conf upstream "$(upstream_server "$UP")"
nginx -c "$D/upstream.conf" -g 'daemon off; master_process on;' 2>"$D/nginx.err" &
PIDS+=($!)
wait_port "$UP" || { echo "nginx did not start"; cat "$D/nginx.err"; exit 1; }

# replica NAME STORE [STATE_FILE [TTL_S]]: a proxy-mode `slipway serve` in front of nginx, v1
# and v2 at 50%, sessions idle for TTL_S (1800) expire; its pid and port in RPID[NAME] and
# RPORT[NAME], start-up seconds in RSTART[NAME].
declare -A RPID RPORT RSTART
replica() {
    local name=$1 store=$2 state=${3:-$D/$1-state.json} ttl=${4:-1800}
    cat >"$D/$name.yaml" <<YAML
listen: 127.0.0.1:0
store: $store
state_file: $state
sessions: {max_pins: 10000000, ttl_s: $ttl}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$UP/v1"}
      v2: {url: "http://127.0.0.1:$UP/v1"}
    route: {stable: v1, candidate: v2, weight: 50}
YAML
    rm -f "$D/$name.port"
    local t0
    t0=$(date +%s.%N)
    "$SLIPWAY" serve -q --config "$D/$name.yaml" --port-file "$D/$name.port" >"$D/$name.log" 2>&1 &
    RPID[$name]=$!
    PIDS+=($!)
    for i in $(seq 1 1200); do [ -s "$D/$name.port" ] && break; sleep 0.05; done
    [ -s "$D/$name.port" ] || { echo "replica $name did not start:"; cat "$D/$name.log"; exit 1; }
    RSTART[$name]=$(echo "$(date +%s.%N) - $t0" | bc)
    RPORT[$name]=$(cat "$D/$name.port")
}
stop_replica() { kill "${RPID[$1]}"; wait "${RPID[$1]}" 2>/dev/null; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo "# Shared pins: write rate and cost ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo
durability="fsync and synchronous commit on, as PostgreSQL ships"
[ "$PG_DURABLE" = 1 ] || durability="fsync off, as the tests run it"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on loopback (the test fixture, $durability); nginx upstream; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# ---- 1 and 2: the new-session write rate ----
# Sessions idle for 10 s expire from the replicas' memory (a run makes up to some 150,000), and
# the postgres replica never sweeps the table, which is emptied before each of its runs.
SLIPWAY_PIN_SWEEP_MS=2000000000 replica folder "$D/folder-store" "$D/folder-state.json" 10
SLIPWAY_PIN_SWEEP_MS=2000000000 replica postgres "$DB" "$D/postgres-state.json" 10
export PG_BIN PG_PORT
python3 - "$HERE/new-sessions.lua" "${RPORT[folder]}" "${RPORT[postgres]}" "$DUR" "$CONNS" "$ROUNDS" <<'PY'
import http.client, os, re, statistics, subprocess, sys, time
lua, f_port, p_port, dur, conns, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
psql = [os.environ["PG_BIN"] + "/psql", "-h", "127.0.0.1", "-p", os.environ["PG_PORT"], "-U", "slipway", "-d", "slipway", "-Atc"]
def rows():
    return int(subprocess.run(psql + ["SELECT count(*) FROM slipway.pins"], capture_output=True, text=True, check=True).stdout)
def metric(port, name):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    m = re.search(r"^%s (\d+)" % name, body, re.M)
    return int(m.group(1)) if m else 0
runs = 0
def wrk(port, keys):
    global runs
    runs += 1
    env = dict(os.environ, KEYS=keys, PIN_PREFIX="r%07d" % runs)
    return subprocess.Popen(["wrk", "-t1", "-c%d" % conns, "-d%ds" % dur, "-s", lua,
                             "http://127.0.0.1:%s/v1/chat/completions" % port],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
def parse(out):
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    e = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    s = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return n, rps, (int(e.group(1)) if e else 0) + (sum(map(int, s.groups())) if s else 0)
def drained(port):
    while metric(port, "slipway_shared_pins_queued"):
        time.sleep(0.01)
def sampled(port, keys):
    """One postgres run: rps, pins committed/s during it, longest queue, ms to drain after."""
    drained(port)  # what an earlier run left
    subprocess.run(psql + ["TRUNCATE slipway.pins"], capture_output=True, check=True)
    r0 = rows()
    t0 = time.monotonic()
    p = wrk(port, keys)
    samples = []
    while p.poll() is None:
        samples.append((time.monotonic(), rows(), metric(port, "slipway_shared_pins_queued")))
        time.sleep(0.25)
    t1 = time.monotonic()
    n, rps, err = parse(p.stdout.read())
    during = [s for s in samples if s[0] <= t1]
    committed = (during[-1][1] - r0) / (during[-1][0] - t0) if during else 0
    qmax = max([s[2] for s in samples] + [0])
    while True:
        q = metric(port, "slipway_shared_pins_queued")
        if q == 0:
            break
        qmax = max(qmax, q)
        time.sleep(0.01)
    drain_ms = (time.monotonic() - t1) * 1000
    return rps, err, committed, qmax, drain_ms, rows() - r0
print("## 1. New sessions: the postgres replica against the folder one (wrk -t1 -c%d -d%ds, a new conversation per request, %d rounds of each kind, in turn)" % (conns, dur, rounds))
print()
print("| round | keys | folder requests/s | postgres requests/s | ratio | pins committed/s during the run | longest queue | queue empty after the run | pins written | errors (folder, postgres) |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for keys in ("client", "generated"):
    wrk(f_port, keys).wait(); sampled(p_port, keys)  # warm-up
ratios = {"client": [], "generated": []}
for rnd in range(1, rounds + 1):
    for keys in ("client", "generated"):
        p = wrk(f_port, keys)
        p.wait()
        _, f_rps, f_err = parse(p.stdout.read())
        rps, err, committed, qmax, drain_ms, written = sampled(p_port, keys)
        ratios[keys].append(rps / f_rps)
        print("| %d | %s | %.0f | %.0f | %.2f | %.0f | %d | %.0f ms | %d | %d, %d |" % (
            rnd, keys, f_rps, rps, rps / f_rps, committed, qmax, drain_ms, written, f_err, err))
print()
for keys, r in ratios.items():
    print("- %s keys: postgres / folder requests/s, the median of the rounds' ratios: %.2f (%.2f to %.2f)." % (
        keys, statistics.median(r), min(r), max(r)))
print("- pins dropped by a full queue: %d." % metric(p_port, "slipway_shared_pins_dropped_total"))
print()
PY

# 2. The write-behind on its own: queued while the database is away, timed as it drains.
# Route changes through another replica meanwhile, timed to the postgres one.
SLIPWAY_PIN_SWEEP_MS=2000000000 replica changer "$DB"
sql "TRUNCATE slipway.pins" >/dev/null
pg_pause
wrk -t1 -c"$CONNS" -d"${DUR}s" -s "$HERE/new-sessions.lua" "http://127.0.0.1:${RPORT[postgres]}/v1/chat/completions" >"$D/burst.txt" 2>&1
queued=$(curl -s "http://127.0.0.1:${RPORT[postgres]}/metrics" | awk '/^slipway_shared_pins_queued / {print $2}')
pg_resume || { echo "the database did not start again"; exit 1; }
python3 - "${RPORT[postgres]}" "$queued" "${RPORT[changer]}" <<'PY'
import http.client, json, os, re, statistics, subprocess, sys, time
port, queued, changer = sys.argv[1], int(sys.argv[2]), sys.argv[3]
psql = [os.environ["PG_BIN"] + "/psql", "-h", "127.0.0.1", "-p", os.environ["PG_PORT"], "-U", "slipway", "-d", "slipway", "-Atc"]
def rows():
    return int(subprocess.run(psql + ["SELECT count(*) FROM slipway.pins"], capture_output=True, text=True, check=True).stdout)
def metric(name):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    c.request("GET", "/metrics")
    m = re.search(r"^%s (\d+)" % name, c.getresponse().read().decode(), re.M)
    return int(m.group(1)) if m else 0
# The table was emptied before the outage. From the first rows seen (the listener reconnects
# within 200 ms of the server's return) to the last: sampled through psql, between route
# changes through the other replica, each timed until the postgres replica shows it.
path = "/admin/agents/support-agent/route"
pc = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
cc = http.client.HTTPConnection("127.0.0.1", int(changer), timeout=10)
def version(c):
    c.request("GET", path); return json.loads(c.getresponse().read())["version"]
first, delays = None, []
while True:
    n, now = rows(), time.monotonic()
    if first is None and n > 0:
        first = (now, n)
    if n >= queued or (n and metric("slipway_shared_pins_queued") == 0 and rows() == n):
        break
    if first is None:
        continue
    v = version(cc)
    cc.request("PUT", path, json.dumps({"version": v, "weight": len(delays) % 99 + 1}), {"Content-Type": "application/json"})
    r = cc.getresponse(); r.read()
    if r.status != 200:
        continue
    t = time.monotonic()
    while version(pc) <= v:
        time.sleep(0.0002)
    delays.append((time.monotonic() - t) * 1000)
print("## 2. The write-behind's own rate: %d pins queued while the database was stopped" % queued)
print()
if first and now > first[0]:
    print("Once the database was back, the listener wrote them at **%.0f pins/s** (%d rows between the first sample that saw rows and the last, %.0f ms apart; statements of up to 100 rows, each its own commit; %d rows in all)." % (
        (n - first[1]) / (now - first[0]), n - first[1], (now - first[0]) * 1000, n))
    if delays:
        delays.sort()
        print()
        print("Meanwhile %d route changes through another replica reached this one in p50 %.2f ms, max %.2f ms." % (
            len(delays), statistics.median(delays), delays[-1]))
else:
    print("They were all written before the first sample (%d rows)." % n)
print()
PY
stop_replica folder
stop_replica postgres
stop_replica changer

# ---- 3. memory per pin through HTTP, and the rows they wrote ----
sql "TRUNCATE slipway.pins" >/dev/null
replica http "$DB"
curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
    "http://127.0.0.1:${RPORT[http]}/v1/chat/completions"
rss0=$(rss_kb "${RPID[http]}")
KEYS=client PIN_PREFIX=httppins wrk -t1 -c"$CONNS" -d"${NEW_HTTP}s" -s "$HERE/new-sessions.lua" \
    "http://127.0.0.1:${RPORT[http]}/v1/chat/completions" >"$D/http.txt" 2>&1
for i in $(seq 1 600); do
    [ "$(curl -s "http://127.0.0.1:${RPORT[http]}/metrics" | awk '/^slipway_shared_pins_queued / {print $2}')" = 0 ] && break
    sleep 0.1
done
sleep 1 # a state save in flight
rss1=$(rss_kb "${RPID[http]}")
npins=$(curl -s "http://127.0.0.1:${RPORT[http]}/metrics" | awk '/^slipway_pins\{/ {n += $NF} END {print n}')
stop_replica http
sql "VACUUM ANALYZE slipway.pins" >/dev/null
read -r hrows htotal hheap hidx < <(sql "SELECT count(*), pg_total_relation_size('slipway.pins'), pg_relation_size('slipway.pins'), pg_indexes_size('slipway.pins') FROM slipway.pins" | tr '|' ' ')
echo "## 3. Pins made through HTTP ($NEW_HTTP s of new sessions, client keys, into one fresh postgres replica)"
echo
echo "| | pins | RSS before | RSS after | per pin |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| the replica | $npins | $((rss0 / 1024)) MB | $((rss1 / 1024)) MB | $(((rss1 - rss0) * 1024 / (npins > 0 ? npins : 1))) bytes |"
echo "| the database (slipway.pins with its indexes, after VACUUM) | $hrows | | $((htotal / 1024 / 1024)) MB | $((htotal / (hrows > 0 ? hrows : 1))) bytes (heap $((hheap / (hrows > 0 ? hrows : 1))), indexes $((hidx / (hrows > 0 ? hrows : 1)))) |"
echo

# ---- 4. a million rows in the database, then swept ----
sql "TRUNCATE slipway.pins" >/dev/null
now_ms=$(($(date +%s%N) / 1000000))
# The router's row shape: a 32-character session key (what it generates), half on each version,
# last used over the past 30 minutes, the default TTL; all already expired, for the sweep below
# (the values do not change the size).
t0=$(date +%s.%N)
sql "INSERT INTO slipway.pins (agent, session, version, reason, terminated, created_ms, last_ms, expires_ms)
     SELECT 'support-agent', md5(g::text), CASE WHEN g % 2 = 0 THEN 'v1' ELSE 'v2' END, 'split', false,
            $now_ms - 1800000 - g, $now_ms - 1800000 - g, $now_ms - 2 * g
     FROM generate_series(1, $MILLION) g" >/dev/null
load_s=$(echo "$(date +%s.%N) - $t0" | bc)
sql "VACUUM ANALYZE slipway.pins" >/dev/null
read -r total heap pkey expires < <(sql "SELECT pg_total_relation_size('slipway.pins'), pg_relation_size('slipway.pins'),
    pg_relation_size('slipway.pins_pkey'), pg_relation_size('slipway.pins_expires')" | tr '|' ' ')
echo "## 4. A million pins in the database ($MILLION rows of the router's shape, loaded with one INSERT ... SELECT in $(printf %.1f "$load_s") s)"
echo
echo "| relation | size | bytes per pin |"
echo "| --- | ---: | ---: |"
echo "| slipway.pins (heap) | $((heap / 1024 / 1024)) MB | $((heap / MILLION)) |"
echo "| slipway.pins_pkey (agent, session) | $((pkey / 1024 / 1024)) MB | $((pkey / MILLION)) |"
echo "| slipway.pins_expires (expires_ms) | $((expires / 1024 / 1024)) MB | $((expires / MILLION)) |"
echo "| total (pg_total_relation_size) | $((total / 1024 / 1024)) MB | **$((total / MILLION))** |"
echo
# The sweep: replica S sweeps (every second), replica W never does; route changes through W.
SLIPWAY_PIN_SWEEP_MS=1000 replica sweeper "$DB"
SLIPWAY_PIN_SWEEP_MS=2000000000 replica other "$DB"
python3 - "${RPORT[sweeper]}" "${RPORT[other]}" "$MILLION" <<'PY'
import http.client, json, re, statistics, sys, time
s_port, w_port, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def conn(p): return http.client.HTTPConnection("127.0.0.1", int(p), timeout=10)
sc, wc = conn(s_port), conn(w_port)
path = "/admin/agents/support-agent/route"
def swept():
    sc.request("GET", "/metrics"); body = sc.getresponse().read().decode()
    return int(re.search(r"^slipway_shared_pins_expired_total (\d+)", body, re.M).group(1))
def version(c):
    c.request("GET", path); return json.loads(c.getresponse().read())["version"]
while swept() == 0:
    time.sleep(0.005)
t0 = time.monotonic()
delays = []
v = version(wc)
while swept() < n:
    body = json.dumps({"version": v, "weight": len(delays) % 99 + 1})
    wc.request("PUT", path, body, {"Content-Type": "application/json"}); r = wc.getresponse(); r.read()
    assert r.status == 200, r.status
    t = time.monotonic(); v += 1
    while version(sc) < v:
        time.sleep(0.0002)
    delays.append((time.monotonic() - t) * 1000)
    time.sleep(0.02)
secs = time.monotonic() - t0
delays.sort()
print("One replica's listener deleted the %d expired rows in %.1f s (%.0f rows/s, %d statements of up to 1,000), from its first deletion seen to its counter at %d. Meanwhile %d route changes through the other replica reached the sweeping one in p50 %.2f ms, max %.2f ms (its listener applies them between two statements)." % (
    n, secs, n / secs, (n + 999) // 1000, n, len(delays), statistics.median(delays) if delays else float("nan"), delays[-1] if delays else float("nan")))
print()
PY
stop_replica sweeper
stop_replica other

# ---- 5. a million pins in one replica ----
# A state file of the router's own making (routes, one pin), its pins then replaced by a million.
replica seed "$D/folder-store" "$D/seed-state.json"
curl -s -o /dev/null -H 'Content-Type: application/json' -H 'x-slipway-session: seed' \
    -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
    "http://127.0.0.1:${RPORT[seed]}/v1/chat/completions"
stop_replica seed
python3 - "$D/seed-state.json" "$D/million-state.json" "$D/empty-state.json" "$MILLION" <<'PY'
import hashlib, json, sys, time
seed, million, empty, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
st = json.load(open(seed))
now = int(time.time() * 1000)
st["pins"] = []
json.dump(st, open(empty, "w"))
del st["pins"]
with open(million, "w") as f:
    st_text = json.dumps(st)
    f.write(st_text[:-1] + ', "pins": [')
    for i in range(n):
        key = hashlib.md5(str(i).encode()).hexdigest()
        f.write('%s{"agent":"support-agent","session":"%s","version":"%s","reason":"split","terminated":false,"created_ms":%d,"last_ms":%d}'
                % ("," if i else "", key, "v1" if i % 2 == 0 else "v2", now - i // 1000, now - i // 1000))
    f.write("]}")
PY
replica empty "$DB" "$D/empty-state.json"
replica million "$DB" "$D/million-state.json"
sleep 2 # settled: the state writer's first save, the listener's connection
e_rss=$(rss_kb "${RPID[empty]}")
m_rss=$(rss_kb "${RPID[million]}")
m_pins=$(curl -s "http://127.0.0.1:${RPORT[million]}/metrics" | awk '/^slipway_pins\{/ {n += $NF} END {print n}')
echo "## 5. A million pins in one replica (postgres store; pins from a state file of $(($(stat -c %s "$D/million-state.json") / 1024 / 1024)) MB at start-up)"
echo
echo "| replica | pins | start-up | RSS | per pin |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| no pins | 0 | $(printf %.2f "${RSTART[empty]}") s | $((e_rss / 1024)) MB | |"
echo "| a million | $m_pins | $(printf %.2f "${RSTART[million]}") s | $((m_rss / 1024)) MB | **$(((m_rss - e_rss) * 1024 / MILLION)) bytes** |"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
