#!/usr/bin/env bash
# An upstream that never ends its SSE event (no blank line, ever) cannot make the router hold
# more than limits.max_response_bytes of it: the client's stream ends with a stream_cut error
# naming the cap, the call counts as stream_cut, and the router goes on serving.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

UP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$UP_PORT" >"$T/upstream.log" 2>&1 <<'PY' &
import socket, sys, threading, time
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
def serve(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")
        c.sendall(b"data: ")
        for _ in range(200):  # 200 KB of one event that never ends, then hold the line
            c.sendall(b"x" * 1024)
        time.sleep(30)
    except OSError:
        pass
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS+=($!)
for i in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$UP_PORT") 2>/dev/null && break; sleep 0.05; done

start_mock v1 "$FIX/v1.yaml"
cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/state/router.json
limits: {max_response_bytes: 4096}
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 20000}
agents:
  support-agent:
    versions:
      v1: {url: "http://127.0.0.1:$v1_PORT/v1"}
      endless: {url: "http://127.0.0.1:$UP_PORT/v1"}
    route: {stable: v1, candidate: endless, weight: 0}
YAML
start_router "$T/router.yaml"

admin PUT /admin/agents/support-agent/pins/s-endless '{"version": "endless"}'
expect_eq "$status" 200 "a session pinned to the endless upstream"
out=$(curl -s -N --max-time 15 -H "x-slipway-session: s-endless" \
    -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "hi"}]}' \
    "$URL/v1/chat/completions")
expect_out '"code":"stream_cut"' "the stream ends with a stream_cut error"
expect_out "an event longer than 4096 bytes" "naming the cap"
expect_eq "$(metric 'slipway_request_errors_total{agent="support-agent",version="endless",class="stream_cut"}')" 1 \
    "counted as stream_cut against that version"
chat other "still there"
expect_eq "$status/$version" 200/v1 "the router goes on serving"
router_done
finish
