#!/usr/bin/env bash
# Approval over HTTP (approve_url): the canary asks a real HTTP server on loopback, with the
# Bearer token from approve_token_file, until it answers. 404 and 5xx keep it waiting (each
# distinct answer logged once), {"approved": true} promotes; {"approved": false, "reason"} and
# 403 reject at once with the reason; a 200 that is not JSON is an error naming the URL and what
# was read; a URL that never answers fails at approve_timeout. The report section says how the
# promotion was approved.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

# The approver: answers GET with the status and body in $T/approval ("STATUS\nBODY"), 404 while
# there is none; logs every Authorization header it gets.
cat >"$T/approver.py" <<'PY'
import http.server, os, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(d + "/auth.log", "a") as f:
            f.write(self.headers.get("Authorization", "-") + "\n")
        try:
            status, body = open(d + "/approval").read().split("\n", 1)
        except FileNotFoundError:
            status, body = "404", "no decision yet"
        b = body.encode()
        self.send_response(int(status))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(d + "/approver.port.tmp", "w") as f:
    f.write(str(s.server_port))
os.rename(d + "/approver.port.tmp", d + "/approver.port")
s.serve_forever()
PY
python3 "$T/approver.py" "$T" >"$T/approver.log" 2>&1 &
PIDS+=($!)
wait_file "$T/approver.port" || { bad "the approver did not start"; finish; }
APPROVER="http://127.0.0.1:$(cat "$T/approver.port")/approval"
printf 's3cret-approver-token\n' >"$T/approver.token"

# decide STATUS BODY: what the approver answers from now on (replaced atomically).
decide() {
    printf '%s\n%s' "$1" "$2" >"$T/approval.tmp"
    mv "$T/approval.tmp" "$T/approval"
}

# pipeline URL TIMEOUT: a one-step canary approved by URL.
pipeline() {
    cat >"$T/pipeline.yaml" <<YAML
version: 1
name: canary-approve-url
vars: {router: "", token: "", candidate: ""}
stages:
  - id: canary
    uses: canary
    with:
      router: \${vars.router}
      token_file: \${vars.token}
      agent: support-agent
      candidate: \${vars.candidate}
      steps: [100]
      hold: 100ms
      approve_url: "$1"
      approve_token_file: $T/approver.token
      approve_interval: 100ms
      approve_timeout: $2
YAML
}
SETS=(--set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B")

# Rejected with a reason: the stage fails at once, nothing is promoted.
pipeline "$APPROVER" 1h
decide 200 '{"approved": false, "reason": "change freeze until Monday"}'
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "a rejected promotion fails the run"
expect_out "approve_url $APPROVER rejected the promotion: change freeze until Monday" \
    "the failure names the URL and the reason"
expect_eq "$(route_field 'd["stable"], d["candidate"], d["weight"]')" "('$A', '$B', 100.0)" \
    "not promoted: B is still the candidate"
expect_eq "$(channel stable)" "$A" "the store's stable is still A"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "d['status'], d['events'][-1]['status']")" "('fail', 'fail')" \
    "the report section says it failed"

# 403: rejected too, with the status as the reason when the body has none.
decide 403 'go away'
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "403 rejects"
expect_out "rejected the promotion: HTTP 403" "with the status as the reason"

# A 200 that is not the expected JSON: an error naming the URL and what was read.
decide 200 'OK'
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "a non-JSON 200 stops the stage"
expect_out "approve_url $APPROVER: HTTP 200 but not a JSON object" "naming the URL"
expect_out "read 'OK'" "and what was read"

# Nothing listening: waits (the connection error logged once), then fails at the timeout.
closed_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pipeline "http://127.0.0.1:$closed_port/approval" 1s
sw run "$T/pipeline.yaml" "${SETS[@]}"
expect_rc 1 "no answer until approve_timeout fails the run"
expect_out "no approval from http://127.0.0.1:$closed_port/approval within 1000 ms" "naming the URL and the timeout"
expect_eq "$(grep -c "approve_url http://127.0.0.1:$closed_port/approval: .*; waiting" <<<"$out")" 1 \
    "the connection error is logged once"

# Approved after a while: 404 (no decision yet), then 503, then yes. Each logged once.
pipeline "$APPROVER" 1h
rm -f "$T/approval" "$T/auth.log"
"$SLIPWAY" run "$T/pipeline.yaml" "${SETS[@]}" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
run_pid=$!
PIDS+=($run_pid)
# wait_out TEXT: up to 20 s for the run's output to show TEXT.
wait_out() {
    local i
    for i in $(seq 1 400); do
        grep -qF -- "$1" "$T/run.out" && return 0
        sleep 0.05
    done
    return 1
}
wait_out "approve_url $APPROVER: HTTP 404; waiting" && ok "404: waiting" || bad "no 404 wait logged"
# A few more polls while 404 is answered.
for _ in $(seq 1 100); do [ "$(wc -l <"$T/auth.log")" -ge 4 ] && break; sleep 0.05; done
decide 503 'busy'
wait_out "approve_url $APPROVER: HTTP 503; waiting" && ok "503: waiting" || bad "no 503 wait logged"
decide 200 '{"approved": true}'
wait "$run_pid"
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "approved: the run succeeds"
expect_out "approved by $APPROVER" "the approval is logged"
expect_eq "$(grep -c "HTTP 404; waiting" <<<"$out")" 1 "the 404 wait is logged once however often it was asked"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "promoted in the router"
expect_eq "$(channel stable)/$(channel candidate)" "$B/None" "and in the store"
expect_eq "$(sort -u "$T/auth.log")" "Bearer s3cret-approver-token" "every request carried the Bearer token"
S="$(run_dir)/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "d['status'], {i['label']: i['value'] for i in d['summary']}['approval']")" "('pass', 'URL')" \
    "the report section: approved by URL"
expect_eq "$(json "$S" "[e['label'] for e in d['events']][-3:]")" \
    "['waiting for approval (URL)', 'approved (URL)', 'promoted $B']" "and the events"
grep -q "s3cret-approver-token" "$(run_dir)/journal.jsonl" && bad "the approver's token is in the journal" ||
    ok "the approver's token is not in the journal"
router_done
finish
