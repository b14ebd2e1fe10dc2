#!/usr/bin/env bash
# The SDK's example plugins in real pipelines: slack-notify posting to a local webhook
# receiver (python3's http.server on 127.0.0.1, a port the kernel picks), the webhook
# URL given as a secret from the environment; approval released by a sign-off file.
source "$(dirname "$0")/lib.sh"
: "${SW_BUILD_DIR:?SW_BUILD_DIR must name the build folder}"
EX="$SW_BUILD_DIR/sdk/examples/plugins"
[ -f "$EX/slack-notify.so" ] || { echo "skip: examples not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }

# ---- a webhook receiver: records every POST, answers 200 (or 500 under /broken/) ----
cat >"$T/receiver.py" <<'PY'
import http.server, json, sys
log, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"),
                                "body": body.decode()}) + "\n")
        code, text = (500, b"oops") if self.path.startswith("/broken/") else (200, b"ok")
        self.send_response(code)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os; os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
python3 "$T/receiver.py" "$T/received.jsonl" "$T/port" &
receiver=$!
trap 'kill $receiver 2>/dev/null; wait $receiver 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
[ -s "$T/port" ] || { echo "not ok - the receiver did not start"; exit 1; }
PORT=$(cat "$T/port")

cat >"$T/notify.yaml" <<'YAML'
version: 1
name: notify
vars:
  version: "1.4.2"
stages:
  - id: tell
    uses: slack-notify
    with:
      url: ${env.SW_TEST_WEBHOOK}
      text: "support-agent ${vars.version} is live: \"all green\""
      channel: "#deploys"
      retries: 1
YAML

export SW_TEST_WEBHOOK="http://127.0.0.1:$PORT/services/T0001/B0001/XSECRETTOKENX"
out=$("$SLIPWAY" check "$T/notify.yaml" --plugin-path "$EX" 2>&1); rc=$?
expect_rc 0 "the notify pipeline checks"
out=$("$SLIPWAY" run "$T/notify.yaml" --plugin-path "$EX" 2>&1); rc=$?
expect_rc 0 "slack-notify posts through the host's HTTP client"
if python3 - "$T/received.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
r = rows[0]
assert r["path"] == "/services/T0001/B0001/XSECRETTOKENX", r
assert r["type"] == "application/json", r
body = json.loads(r["body"])
assert body == {"text": 'support-agent 1.4.2 is live: "all green"', "channel": "#deploys"}, body
PY
then ok "the receiver got the message as JSON"; else bad "the receiver got the message as JSON"; fi
d=$(run_dir)
expect_eq "$(json "$d/report.json" 'd["outputs"]["tell.status"]["value"]')" "200" "status output is 200"
if grep -rq XSECRETTOKENX "$d"; then bad "the webhook URL leaked into the run folder"; else ok "the webhook URL is in no file of the run"; fi
if grep -q XSECRETTOKENX <<<"$out"; then bad "the webhook URL leaked into the output"; else ok "nor in the output"; fi

# A webhook that fails: the run fails, the reason says why, still without the URL.
export SW_TEST_WEBHOOK="http://127.0.0.1:$PORT/broken/XSECRETTOKENX"
out=$("$SLIPWAY" run "$T/notify.yaml" --plugin-path "$EX" 2>&1); rc=$?
expect_rc 1 "a webhook answering 500 fails the run"
expect_out "the webhook answered HTTP 500: oops" "with the webhook's answer"
expect_eq "$(grep -c /broken/ "$T/received.jsonl")" "2" "after one retry"
if grep -rq XSECRETTOKENX "$(run_dir)"; then bad "URL leaked on failure"; else ok "no URL in the failed run's files"; fi

# ---- approval: a pipeline held until a sign-off file appears ----
cat >"$T/hold.yaml" <<'YAML'
version: 1
name: hold
stages:
  - id: signoff
    uses: approval
    with: { file: signoff.txt, poll: 20ms, timeout: 1m }
    gate: signoff.approved
YAML
( sleep 0.3; echo "approved by erin" >"$T/signoff.txt.tmp"; mv "$T/signoff.txt.tmp" "$T/signoff.txt" ) &
signer=$!
out=$("$SLIPWAY" run "$T/hold.yaml" --plugin-path "$EX" 2>&1); rc=$?
wait $signer
expect_rc 0 "approval releases the pipeline when the file appears"
expect_eq "$(json "$(run_dir)/report.json" 'd["outputs"]["signoff.approver"]["value"]')" "erin" "approver output"
rm -f "$T/signoff.txt"

# Stopped while holding: the stage gives up at once and the run is resumable (exit 3).
"$SLIPWAY" run "$T/hold.yaml" --plugin-path "$EX" >"$T/held.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "waiting up to" "$T/held.log" && break; sleep 0.05; done
kill -INT $pid
wait $pid; rc=$?
out=$(cat "$T/held.log")
expect_rc 3 "SIGINT while holding interrupts the run"
finish
