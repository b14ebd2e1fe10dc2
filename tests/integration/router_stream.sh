#!/usr/bin/env bash
# Streaming: events reach the client while the upstream is still sending (no buffering), a cut
# upstream stream ends with an error event, and a client that hangs up cancels the upstream call.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"

# The upstream sends a few events, then goes silent for 2.5 s and drops the connection.
python3 - "$ROUTER_PORT" >"$T/stall.txt" <<'PY'
import json, select, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = json.dumps({"model": "support-agent", "stream": True,
                   "messages": [{"role": "user", "content": "stall me"}]}).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Connection: close\r\nContent-Length: %d\r\nx-slipway-session: st-1\r\n\r\n"
          % len(body) + body)
data = b""
while b'"content":"' not in data:
    chunk = s.recv(65536)
    if not chunk:
        print("ended before any content")
        sys.exit(0)
    data += chunk
# Content arrived; the upstream is stalled now, so the stream must still be open.
r, _, _ = select.select([s], [], [], 0.3)
still_open = not r or s.recv(1, socket.MSG_PEEK) != b""
print("open-after-first-content" if still_open else "closed-after-first-content")
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print("stream_cut" if b'"code":"stream_cut"' in data else "no-error-event")
print("done-marker" if b"[DONE]" in data else "no-done")
PY
expect_eq "$(sed -n 1p "$T/stall.txt")" open-after-first-content "events are forwarded as they arrive, not buffered"
expect_eq "$(sed -n 2p "$T/stall.txt")" stream_cut "a cut upstream stream ends with an error event"
expect_eq "$(sed -n 3p "$T/stall.txt")" no-done "and no [DONE]"
expect_eq "$(metric 'slipway_request_errors_total{agent="support-agent",version="v1",class="stream_cut"}')" 1 "counted as stream_cut"

# A client that hangs up mid-stream: the upstream call is cancelled at once.
python3 - "$ROUTER_PORT" <<'PY'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = json.dumps({"model": "support-agent", "stream": True,
                   "messages": [{"role": "user", "content": "hang"}]}).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
data = b""
while b'"content":"' not in data:
    data += s.recv(65536)
s.close()
PY
gone=no
for i in $(seq 1 100); do
    canceled=$(metric 'slipway_request_errors_total{agent="support-agent",version="v1",class="canceled"}')
    if [ "$canceled" = 1 ] && [ "$(metric slipway_inflight_upstream_requests)" = 0 ]; then gone=yes; break; fi
    sleep 0.05
done
expect_eq "$gone" yes "the hang-up cancelled the upstream call (the mock would hold it 60 s)"
grep -q 'session=.* error=canceled' "$T/router.log" && ok "logged as canceled" || bad "no canceled line"

# A client that resets its connection while the stream flows (the router's next write fails,
# rather than the router noticing the hang-up while it waits): the upstream call ends with the
# request, and nothing writes into the ended request (a use after free before).
python3 - "$ROUTER_PORT" <<'PY'
import json, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
body = json.dumps({"model": "support-agent", "stream": True,
                   "messages": [{"role": "user", "content": "drip"}]}).encode()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
data = b""
while data.count(b'"content":"') < 3:
    data += s.recv(65536)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
PY
gone=no
for i in $(seq 1 200); do
    [ "$(metric slipway_inflight_upstream_requests)" = 0 ] && { gone=yes; break; }
    sleep 0.05
done
expect_eq "$gone" yes "a reset mid-stream ends the upstream call (paused above the high water, it would wait for ever)"
kill -0 "$ROUTER_PID" 2>/dev/null && ok "the router is still serving" || bad "the router died"

# Many streams at once, all whole.
for i in $(seq 1 30); do
    curl -s -N --max-time 10 -o "$T/par$i.txt" -H "x-slipway-session: par$i" \
        -d '{"model": "support-agent", "stream": true, "messages": [{"role": "user", "content": "stream"}]}' \
        "$URL/v1/chat/completions" &
done
wait_curls=0
for j in $(jobs -p); do
    case " ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" || wait_curls=$((wait_curls + 1)) ;; esac
done
whole=0
for i in $(seq 1 30); do grep -q '^data: \[DONE\]' "$T/par$i.txt" && whole=$((whole + 1)); done
expect_eq "$whole" 30 "30 parallel streams, all whole"
router_done
finish
