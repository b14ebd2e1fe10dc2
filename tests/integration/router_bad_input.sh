#!/usr/bin/env bash
# Bad input and failing upstreams: each gets its status and an OpenAI-style JSON error, never a
# crash; retries happen before the first byte, on 429/5xx/connect errors, within the version.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
# A port with nothing listening: bind one, note it, close it.
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
two_versions_config "$T/router.yaml" "
  dead-agent:
    versions: {v1: {url: \"http://127.0.0.1:$DEAD/v1\"}}
    route: {stable: v1}
    retries: 1
limits: {max_body_bytes: 4096, max_header_bytes: 2048, client_timeout_s: 2}"
start_router "$T/router.yaml"

# raw_chat DATA [CURL ARGS]: DATA byte for byte to chat completions, without the JSON Content-Type
# (unlike post); sets status, body, code (the error code).
raw_chat() {
    local data=$1
    shift
    body=$(curl -s --max-time 10 -o - -w '\n%{http_code}' "$@" --data-binary "$data" "$URL/v1/chat/completions")
    status=${body##*$'\n'}
    body=${body%$'\n'*}
    code=$(jget 'd["error"]["code"]' 2>/dev/null)
}

raw_chat '{"model": "support-agent", "messages": ['
expect_eq "$status/$code" 400/invalid_json "malformed JSON"
expect_eq "$(jget 'd["error"]["type"]')" invalid_request_error "an OpenAI-style error type"
raw_chat '[1, 2]'
expect_eq "$status/$code" 400/invalid_request "not an object"
raw_chat '{"messages": []}'
expect_eq "$status/$code" 400/missing_model "missing model"
raw_chat '{"model": "suport-agent", "messages": []}'
expect_eq "$status/$code" 404/model_not_found "unknown agent"
expect_eq "$(jget '"did you mean" in d["error"]["message"]')" True "with a suggestion"
raw_chat '{"model": "support-agent"}'
expect_eq "$status/$code" 400/invalid_messages "missing messages"
raw_chat '{"model": "support-agent", "stream": "yes", "messages": []}'
expect_eq "$status/$code" 400/invalid_stream "stream must be a boolean"
raw_chat '{"model": "support-agent", "messages": []}' -H 'x-slipway-session: has spaces'
expect_eq "$status/$code" 400/invalid_session "a session header with spaces"

big=$(python3 -c 'print("{\"model\": \"support-agent\", \"messages\": [], \"pad\": \"" + "x" * 6000 + "\"}")')
raw_chat "$big"
expect_eq "$status/$code" 413/request_too_large "an oversize body (Content-Length)"
raw_chat "$big" -H 'Transfer-Encoding: chunked'
expect_eq "$status/$code" 413/request_too_large "an oversize body (chunked)"
raw_chat '{"model": "support-agent", "messages": []}' -H "X-Big: $(python3 -c 'print("y" * 3000)')"
expect_eq "$status/$code" 431/headers_too_large "oversize headers"

body=$(curl -s --max-time 10 -o - -w '\n%{http_code}' "$URL/v1/chat/completions")
status=${body##*$'\n'}
expect_eq "$status" 405 "GET on chat completions"
body=$(curl -s --max-time 10 -o - -w '\n%{http_code}' "$URL/v2/whatever")
status=${body##*$'\n'}
expect_eq "$status" 404 "an unknown path"

# A dead upstream: tried twice (retries: 1), then 502.
raw_chat '{"model": "dead-agent", "messages": [{"role": "user", "content": "hi"}]}'
expect_eq "$status/$code" 502/upstream_unavailable "a dead upstream is a 502"
expect_eq "$(jget '"after 2 attempts" in d["error"]["message"]')" True "after two attempts"
expect_eq "$(metric 'slipway_request_errors_total{agent="dead-agent",version="v1",class="connect"}')" 1 "counted as a connect error"

# 429 and 500: three attempts (retries: 2) on the same version, then the upstream's answer.
before=$(curl -s --max-time 10 "http://127.0.0.1:$v1_PORT/mock/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_rule"]["rate-limited"])')
raw_chat '{"model": "support-agent", "messages": [{"role": "user", "content": "rate me"}]}' -H 'x-slipway-session: r1'
expect_eq "$status" 429 "a 429 passes through after the retries"
after=$(curl -s --max-time 10 "http://127.0.0.1:$v1_PORT/mock/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_rule"]["rate-limited"])')
expect_eq "$((after - before))" 3 "three attempts at v1"
raw_chat '{"model": "support-agent", "messages": [{"role": "user", "content": "break me"}]}' -H 'x-slipway-session: r1'
expect_eq "$status" 500 "a 500 passes through after the retries"
v2n=$(curl -s --max-time 10 "http://127.0.0.1:$v2_PORT/mock/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chat_completions"])')
expect_eq "$v2n" 0 "never another version"
expect_eq "$(metric 'slipway_request_errors_total{agent="support-agent",version="v1",class="5xx"}')" 1 "the 500 counted as 5xx"
expect_eq "$(metric 'slipway_request_errors_total{agent="support-agent",version="v1",class="4xx"}')" 1 "the 429 counted as 4xx"

# A slow client: headers never finished; the router closes the connection, and still serves.
python3 - "$ROUTER_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
try:
    data = s.recv(100)  # the router closes the idle connection (client_timeout_s: 2)
    sys.exit(0 if data == b"" else 1)
except socket.timeout:
    sys.exit(2)
PY
expect_eq "$?" 0 "a client that stalls mid-headers is disconnected"
# Names that are not UTF-8 once percent-decoded, and a body whose JSON error would quote half
# a character: each gets its JSON error (the message had crashed the router).
for path in /agents/%ff%fe/v1/chat/completions /agents/%ff/v1/events /v1/%ff; do
    body=$(curl -s --max-time 10 -o - -w '\n%{http_code}' -d '{"messages": []}' "$URL$path")
    status=${body##*$'\n'}
    body=${body%$'\n'*}
    [ "$status" -ge 400 ] && [ "$status" -lt 500 ] && python3 -c 'import json,sys; json.loads(sys.argv[1])["error"]["message"]' "$body" &&
        ok "$path: $status with a JSON error" || bad "$path: status $status, body '$body'"
done
admin PUT "/admin/agents/%ff%fe/route" '{"version": 0, "stable": "v1", "versions": {"v1": {"url": "http://127.0.0.1:9/v1"}}}'
expect_eq "$status" 400 "an admin PUT cannot create an agent whose name is not UTF-8"
raw_chat $'{"model": "a\\\xc3\xa9"}'
[ "$status" = 400 ] && python3 -c 'import json,sys; json.loads(sys.argv[1])' "$body" &&
    ok "bad JSON quoting half a character: 400 with a JSON error" || bad "status $status, body '$body'"
chat "after" "still there"
expect_eq "$status" 200 "and the router still serves"
grep -qi "AddressSanitizer\|Segmentation" "$T/router.log" && bad "the router crashed" || ok "no crash in the log"
router_done
finish
