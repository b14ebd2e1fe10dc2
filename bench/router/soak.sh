#!/usr/bin/env bash
# bench/router/soak.sh [MINUTES] [BUILD_DIR] - the router under mixed traffic for minutes
# (docs/security.md, "Router soak"; not in CI):
#   - `slipway serve` in front of two `slipway mock`s (versions v1 and v2) that inject
#     errors (500, 429, 503 and dropped connections), upstream retries off so each one
#     reaches the client;
#   - WORKERS clients (default 8): chat requests, streaming and not, sessions that change
#     every few requests, and events (task, tool_call, feedback) for the sessions used;
#   - every few seconds the candidate's weight changes, and every third change is a
#     rollback (sessions drain) followed by the candidate's return, through the admin API;
#   - the router's RSS sampled every 5 s.
# At the end it checks, and prints as a table: no error but the injected ones (the
# errors clients saw, by status, against the mocks' /mock/stats counts), no growth of
# the RSS after warm-up, every response carrying x-slipway-version, and every request
# counted for exactly one version (the per-version sums of /admin/stats and of
# slipway_requests_total equal the requests sent). Exit 0 when every check holds.
set -uo pipefail
MINUTES=${1:-3}
BUILD=${2:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
WORKERS=${WORKERS:-8}
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
D=$(mktemp -d /tmp/soak-router.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$D"
}
trap cleanup EXIT

wait_file() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

for v in v1 v2; do
    cat >"$D/$v.yaml" <<YAML
seed: $([ $v = v1 ] && echo 11 || echo 22)
defaults:
  latency: {uniform: [2ms, 12ms]}
  chunk_bytes: 12
  respond: {text: "$v answers '{{user}}' with a few more words, so that a stream has several chunks."}
  errors:
    - {kind: 500, rate: 0.01, message: "injected by the soak test"}
    - {kind: 429, rate: 0.01}
    - {kind: 503, rate: 0.005}
    - {kind: drop, rate: 0.002}
rules:
  - name: tools
    match: {user: "order"}
    respond:
      tool_calls:
        - name: lookup_order
          arguments: {order_id: "NW-1"}
YAML
    "$SLIPWAY" mock --scenario "$D/$v.yaml" --port-file "$D/$v.port" >"$D/$v.log" 2>&1 &
    PIDS+=($!)
    wait_file "$D/$v.port" || { echo "mock $v did not start"; cat "$D/$v.log"; exit 1; }
done
printf 'soak-admin-token\n' >"$D/token"
cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $D/router-state.json
admin: {token_file: $D/token}
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
# A window that holds every record of the soak, so /admin/stats covers all of it (it
# grows by one 40-byte record per request and event: the RSS check allows for that).
metrics: {window_records: 5000000}
agents:
  support-agent:
    # Pins expire after 20 s idle, so the pin table stops growing once warmed up.
    sessions: {ttl_s: 20}
    versions:
      v1: {url: "http://127.0.0.1:$(cat "$D/v1.port")/v1"}
      v2: {url: "http://127.0.0.1:$(cat "$D/v2.port")/v1"}
    route: {stable: v1, candidate: v2, weight: 30}
YAML
"$SLIPWAY" serve --config "$D/router.yaml" --port-file "$D/router.port" >"$D/router.log" 2>&1 &
ROUTER_PID=$!
PIDS+=($ROUTER_PID)
wait_file "$D/router.port" || { echo "router did not start"; cat "$D/router.log"; exit 1; }

python3 - "$MINUTES" "$WORKERS" "$(cat "$D/router.port")" "$ROUTER_PID" \
    "$(cat "$D/v1.port")" "$(cat "$D/v2.port")" <<'PY'
import http.client, json, random, sys, threading, time

minutes, workers, port, pid = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mock_ports = [int(sys.argv[5]), int(sys.argv[6])]
TOKEN = "soak-admin-token"
AGENT = "support-agent"
deadline = time.monotonic() + minutes * 60
started_ms = int(time.time() * 1000) - 1000
lock = threading.Lock()
count = {"chat": 0, "stream": 0, "events": 0, "no_version": 0, "client_errors": 0,
         "stream_cut": 0, "event_rejected": 0, "admin_changes": 0, "rollbacks": 0,
         "admin_failed": 0}
statuses = {}
stop = threading.Event()

def bump(key, n=1):
    with lock:
        count[key] = count.get(key, 0) + n

def conn(p=port):
    return http.client.HTTPConnection("127.0.0.1", p, timeout=30)

def worker(wid):
    rnd = random.Random(wid)
    c = conn()
    session, left = None, 0
    while time.monotonic() < deadline:
        if left == 0:
            session = "soak-%d-%d" % (wid, rnd.randrange(1 << 30))
            left = rnd.randint(1, 8)
        left -= 1
        stream = rnd.random() < 0.4
        text = "where is my order?" if rnd.random() < 0.2 else "hello %d" % rnd.randrange(1000)
        body = {"model": AGENT, "messages": [{"role": "user", "content": text}]}
        if stream:
            body["stream"] = True
        try:
            c.request("POST", "/v1/chat/completions", json.dumps(body),
                      {"Content-Type": "application/json", "x-slipway-session": session})
            r = c.getresponse()
            data = r.read()
        except Exception:
            bump("client_errors")
            c.close()
            c = conn()
            continue
        bump("chat")
        if stream:
            bump("stream")
        if not r.getheader("x-slipway-version"):
            bump("no_version")
        with lock:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.status == 200 and stream and not data.rstrip().endswith(b"data: [DONE]"):
            bump("stream_cut")
        if r.status == 200 and rnd.random() < 0.3:
            kind = rnd.choice(["task", "tool_call", "feedback"])
            ev = {"type": kind}
            if kind == "task":
                ev["outcome"] = rnd.choice(["completed", "failed"])
            elif kind == "tool_call":
                ev.update(name="lookup_order", ok=rnd.random() < 0.9)
            else:
                ev["score"] = rnd.choice([1, -1])
            try:
                c.request("POST", "/v1/events", json.dumps(ev),
                          {"Content-Type": "application/json", "x-slipway-session": session})
                er = c.getresponse()
                er.read()
                bump("events")
                if er.status != 202:
                    bump("event_rejected")
            except Exception:
                bump("client_errors")
                c.close()
                c = conn()

def admin(c, method, path, body=None):
    h = {"Authorization": "Bearer " + TOKEN}
    if body is not None:
        h["Content-Type"] = "application/json"
    c.request(method, path, json.dumps(body) if body is not None else None, h)
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")

def admin_loop():
    rnd = random.Random(99)
    c = conn()
    n = 0
    path = "/admin/agents/%s/route" % AGENT
    while not stop.wait(3.0):
        n += 1
        try:
            st, route = admin(c, "GET", path)
            if n % 3 == 0:
                st, _ = admin(c, "POST", "/admin/agents/%s/rollback" % AGENT, {"sessions": "drain"})
                bump("rollbacks")
            elif route.get("candidate") is None:
                st, _ = admin(c, "PUT", path, {"version": route["version"], "candidate": "v2",
                                               "weight": rnd.choice([10, 25, 50, 75])})
            else:
                st, _ = admin(c, "PUT", path, {"version": route["version"],
                                               "weight": rnd.choice([5, 20, 40, 60, 90])})
            bump("admin_changes")
            if st != 200:
                bump("admin_failed")
        except Exception:
            bump("admin_failed")
            c.close()
            c = conn()

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1

RECORD = 40  # bytes of one metrics record (sw_record)
samples = []
def rss_loop():
    t0 = time.monotonic()
    while True:
        with lock:
            records = count["chat"] + count["events"]
        samples.append((time.monotonic() - t0, rss_kib(), records))
        if stop.wait(5.0):
            break
    samples.append((time.monotonic() - t0, rss_kib(), count["chat"] + count["events"]))

ts = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
a = threading.Thread(target=admin_loop)
m = threading.Thread(target=rss_loop)
for t in ts + [a, m]:
    t.start()
for t in ts:
    t.join()
stop.set()
a.join()
m.join()

# Every request answered and counted by now (the workers waited for their answers).
c = conn()
h = {"Authorization": "Bearer " + TOKEN}
c.request("GET", "/admin/stats?agent=%s&since=%d" % (AGENT, started_ms), headers=h)
stats = json.loads(c.getresponse().read())
per_version = {v: s["requests"] for v, s in stats["versions"].items()}
c.request("GET", "/metrics")
prom = c.getresponse().read().decode()
prom_total = 0
for line in prom.splitlines():
    if line.startswith("slipway_requests_total{") and 'agent="%s"' % AGENT in line:
        prom_total += int(float(line.rsplit(" ", 1)[1]))
injected = {}
mock_chat = 0
for p in mock_ports:
    mc = conn(p)
    mc.request("GET", "/mock/stats")
    ms = json.loads(mc.getresponse().read())
    mock_chat += ms["chat_completions"]
    for k, v in ms.get("injected", {}).items():
        injected[k] = injected.get(k, 0) + v

# A dropped connection is either answered 502 by the router, or (on a kept-alive
# connection, where it looks like one the mock closed while idle) sent again by libcurl
# at once: then the mock counts one chat request more than the router.
errors_seen = sum(n for s, n in statuses.items() if s != 200)
expected_status = {"500": 500, "429": 429, "503": 503}
by_kind_ok = all(statuses.get(code, 0) == injected.get(k, 0) for k, code in expected_status.items())
dropped_seen = sum(n for s, n in statuses.items() if s not in (200, 500, 429, 503))
resent = mock_chat - count["chat"]
injected_total = sum(injected.get(k, 0) for k in expected_status) + dropped_seen

print("\n## Router soak: %.1f min, %d clients" % (minutes, workers))
print("\nRSS of `slipway serve` (KiB), every 5 s:")
print(" ".join("%d" % kib for _, kib, _ in samples))
print("\nthe same less the metrics window's records (%d bytes each):" % RECORD)
print(" ".join("%d" % (kib - n * RECORD // 1024) for _, kib, n in samples))
# After a minute of warm-up (pins reach their TTL, allocator pools fill), what is not
# the metrics window must not grow: the two halves of the rest have the same peak.
warm = [kib - n * RECORD // 1024 for t, kib, n in samples if t >= 60]
if len(warm) < 4:
    warm = [kib - n * RECORD // 1024 for _, kib, n in samples]
half = max(1, len(warm) // 2)
first, last = max(warm[:half]), max(warm[half:] or warm[:half])
growth = last - first
rss_ok = growth <= max(1024, first * 0.03)
checks = [
    ("chat requests sent (streaming)", "%d (%d)" % (count["chat"], count["stream"]), True),
    ("events posted (rejected)", "%d (%d)" % (count["events"], count["event_rejected"]),
     count["event_rejected"] == 0),
    ("route changes through the admin API (rollbacks; failed)",
     "%d (%d; %d)" % (count["admin_changes"], count["rollbacks"], count["admin_failed"]),
     count["admin_failed"] == 0),
    ("statuses clients saw", json.dumps({str(k): v for k, v in sorted(statuses.items())}), True),
    ("errors injected by the mocks", json.dumps(injected), True),
    ("errors seen = 500, 429 and 503 injected + drops answered 502",
     "%d = %d" % (errors_seen, injected_total), errors_seen == injected_total and by_kind_ok),
    ("drops: answered 502 + sent again by libcurl = injected",
     "%d + %d = %d" % (dropped_seen, resent, injected.get("drop", 0)),
     dropped_seen + resent == injected.get("drop", 0)),
    ("client-side failures (no HTTP answer)", str(count["client_errors"]), count["client_errors"] == 0),
    ("streams without [DONE] (status 200)", str(count["stream_cut"]), count["stream_cut"] == 0),
    ("responses without x-slipway-version", str(count["no_version"]), count["no_version"] == 0),
    ("/admin/stats requests by version (complete)",
     "%s = %d (%s)" % (json.dumps(per_version), sum(per_version.values()), stats.get("complete")),
     sum(per_version.values()) == count["chat"] and stats.get("complete") is True),
    ("slipway_requests_total, summed", str(prom_total), prom_total == count["chat"]),
    ("RSS less the window after 1 min: peak of 1st half, of 2nd half (KiB)",
     "%d, %d (%+d)" % (first, last, growth), rss_ok),
]
print("\n| check | value | ok |\n|---|---|---|")
for name, value, ok in checks:
    print("| %s | %s | %s |" % (name, value, "yes" if ok else "**NO**"))
sys.exit(0 if all(ok for _, _, ok in checks) else 1)
PY
rc=$?
kill -TERM "$ROUTER_PID"
wait "$ROUTER_PID"
router_rc=$?
echo
echo "router exit status on SIGTERM: $router_rc"
[ "$rc" -eq 0 ] && [ "$router_rc" -eq 0 ]
