#!/usr/bin/env bash
# `slipway mock`: the real binary on a free port, real HTTP with curl, clean stops
# on SIGTERM and SIGINT, --check with file:line:col diagnostics.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }

FIX="$SW_SOURCE_DIR/tests/fixtures/mock"
MOCK_PID=

# start_mock OUTFILE ARGS...: start the server in the background, wait for its port file.
start_mock() {
    local outfile=$1
    shift
    rm -f "$T/port"
    "$SLIPWAY" mock --port-file "$T/port" "$@" >"$outfile" 2>"$outfile.err" &
    MOCK_PID=$!
    for _ in $(seq 1 200); do
        [ -s "$T/port" ] && break
        kill -0 "$MOCK_PID" 2>/dev/null || break
        sleep 0.05
    done
    PORT=$(cat "$T/port" 2>/dev/null)
    BASE="http://127.0.0.1:$PORT"
}

# stop_mock SIGNAL: signal the server, wait for it, exit code in $rc.
stop_mock() {
    kill -"$1" "$MOCK_PID"
    wait "$MOCK_PID"
    rc=$?
}

post() { curl -s -S --max-time 20 "$@"; }

out=$("$SLIPWAY" mock --help 2>&1); rc=$?
expect_rc 0 "mock --help"
expect_out "usage: slipway mock" "mock --help has usage"
out=$("$SLIPWAY" --help 2>&1)
expect_out "mock [--scenario F]" "slipway --help lists mock"

out=$("$SLIPWAY" mock --check --scenario "$FIX/basic.yaml" 2>&1); rc=$?
expect_rc 0 "--check on a valid scenario"
expect_out "basic.yaml: ok (12 rules)" "--check says ok with the rule count"
out=$("$SLIPWAY" mock --check 2>&1); rc=$?
expect_rc 0 "--check without a scenario checks the built-in one"
expect_out "<built-in>: ok (0 rules)" "--check names the built-in scenario"

out=$("$SLIPWAY" mock --check --scenario "$FIX/bad.yaml" 2>&1); rc=$?
expect_rc 2 "--check on a bad scenario"
expect_out "bad.yaml:5:5: error: rule: unknown key 'latncy' (did you mean 'latency'?)" \
    "--check gives file:line:col and a suggestion"
out=$("$SLIPWAY" mock --check --json --scenario "$FIX/bad.yaml" 2>/dev/null); rc=$?
expect_rc 2 "--check --json on a bad scenario"
if printf '%s' "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin)
g=d["diagnostics"][0]
assert d["errors"]==1 and g["line"]==5 and g["col"]==5 and g["file"].endswith("bad.yaml"), d'; then
    ok "--check --json has line and column"
else
    bad "--check --json"
fi
out=$("$SLIPWAY" mock --check --scenario "$T/missing.yaml" 2>&1); rc=$?
expect_rc 2 "--check on a missing file"
out=$("$SLIPWAY" mock --bogus 2>&1); rc=$?
expect_rc 2 "unknown option"
out=$("$SLIPWAY" mock extra 2>&1); rc=$?
expect_rc 2 "stray argument"
out=$("$SLIPWAY" mock --threads 0 2>&1); rc=$?
expect_rc 2 "--threads 0"
out=$("$SLIPWAY" mock --listen nonsense 2>&1); rc=$?
expect_rc 2 "bad --listen"
expect_out "expected HOST:PORT" "bad --listen explained"

# A real server with the test scenario.
start_mock "$T/out1" --scenario "$FIX/basic.yaml"
if [ -n "$PORT" ]; then ok "port file written ($PORT)"; else bad "no port file"; fi
out=$(cat "$T/out1")
expect_out "listening on http://127.0.0.1:$PORT" "prints the URL it listens on"

out=$(post "$BASE/v1/models")
expect_out '"id":"gpt-4o-mini"' "GET /v1/models"
# A model id that is not UTF-8 once percent-decoded: a JSON 404 (the message had aborted the mock).
out=$(post "$BASE/v1/models/%ff%fe")
printf '%s' "$out" | python3 -c 'import json,sys; assert json.load(sys.stdin)["error"]["code"] == "model_not_found"' &&
    ok "GET /v1/models/%ff%fe: a JSON 404" || bad "GET /v1/models/%ff%fe: '$out'"

out=$(post "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"echo: ping"}]}')
got=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["choices"][0]["message"]["content"])')
expect_eq "$got" "You said: echo: ping" "a text answer"

out=$(post "$BASE/v1/chat/completions" \
    -d '{"model":"gpt-4o-mini","tools":[{"type":"function","function":{"name":"lookup_order"}}],"messages":[{"role":"user","content":"order NW-104233"}]}')
got=$(printf '%s' "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin); c=d["choices"][0]
print(c["finish_reason"], c["message"]["tool_calls"][0]["function"]["name"], json.loads(c["message"]["tool_calls"][0]["function"]["arguments"])["order_id"])')
expect_eq "$got" "tool_calls lookup_order NW-104233" "a tool call"

out=$(post -N "$BASE/v1/chat/completions" \
    -d '{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream"}]}')
expect_out "data: [DONE]" "a stream ends with [DONE]"
got=$(printf '%s' "$out" | python3 -c '
import json,sys
evs=[l[6:] for l in sys.stdin.read().split("\n") if l.startswith("data: ")]
chunks=[json.loads(e) for e in evs[:-1]]
text="".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
print(text, "|", chunks[-1]["usage"]["total_tokens"])')
expect_eq "$got" "Hello from the streaming mock! | 10" "stream content and usage chunk"

out=$(curl -s -i --max-time 20 "$BASE/v1/chat/completions" \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"rate me"}]}')
expect_out "HTTP/1.1 429" "an injected 429"
expect_out "Retry-After: 7" "with Retry-After"

out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "$BASE/v1/chat/completions" -d '{bad json')
expect_eq "$out" "400" "malformed JSON is a 400"

out=$(post "$BASE/mock/stats")
got=$(printf '%s' "$out" | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(d["chat_completions"], d["streams"], d["by_rule"]["echo"], d["by_rule"]["lookup"], d["injected"]["429"], d["by_status"]["200"], d["by_status"]["400"])')
expect_eq "$got" "5 1 1 1 1 4 1" "stats count every request"

# A second server on the same port fails cleanly.
out=$("$SLIPWAY" mock --listen "127.0.0.1:$PORT" 2>&1); rc=$?
expect_rc 2 "a port in use"
expect_out "Address already in use" "a port in use is explained"

stop_mock TERM
expect_rc 0 "SIGTERM stops the server cleanly"
out=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/health" 2>&1)
expect_eq "$out" "000" "nothing listens after the stop"

# The built-in scenario, stopped with SIGINT.
start_mock "$T/out2"
out=$(post "$BASE/v1/chat/completions" -d '{"model":"anything","messages":[{"role":"user","content":"hi"}]}')
expect_out '"content":"This is a mock response."' "the built-in scenario answers anything"
stop_mock INT
expect_rc 0 "SIGINT stops the server cleanly"

finish
