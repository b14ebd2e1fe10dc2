#!/usr/bin/env bash
# bench/router/protocols.sh [BUILD_DIR] - what each protocol and each translation costs the
# router per request, next to Chat Completions passed through, in profile.sh's two figures that
# do not depend on how busy the machine is: user-space instructions of the event loop per request
# (callgrind, a run of N_SMALL requests subtracted from one of N_BIG) and its system calls per
# request (strace -c under a saturating wrk run). The upstream is `slipway mock`
# (protocols.yaml: every answer at once). Cases, each whole and streamed:
#   service mode: Chat Completions, Responses and Messages passed through;
#   gateway mode (releases of examples/support-agent in a store of this run): Chat to an
#   OpenAI-compatible provider (the release applied, no translation), Chat to a Messages
#   provider, Responses to a Messages provider (through Chat: responses -> chat -> messages),
#   Messages to an OpenAI-compatible provider.
# Needs wrk, valgrind (callgrind_annotate), strace, python3. CASES='regex' runs only the cases
# whose name matches; SLIPWAY=path profiles another binary.
set -uo pipefail
BUILD=${1:-$(dirname "$0")/../../build}
SLIPWAY=${SLIPWAY:-$BUILD/bin/slipway}
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
N_SMALL=${N_SMALL:-100}
N_BIG=${N_BIG:-1100}
CASES=${CASES:-.}
for t in wrk valgrind strace callgrind_annotate python3; do
    command -v $t >/dev/null || { echo "needs $t"; exit 77; }
done
[ -x "$SLIPWAY" ] || { echo "no slipway binary at $SLIPWAY"; exit 2; }
D=$(mktemp -d /tmp/bench-router-proto.XXXXXX)
MPID= RPID=
cleanup() {
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null
    [ -n "$MPID" ] && kill "$MPID" 2>/dev/null
    sleep 0.3
    rm -rf "$D"
}
trap cleanup EXIT
. "$BENCH_DIR/../lib.sh"

"$SLIPWAY" mock --scenario "$BENCH_DIR/protocols.yaml" --port-file "$D/mock.port" >"$D/mock.log" 2>&1 &
MPID=$!
for i in $(seq 1 100); do [ -s "$D/mock.port" ] && break; sleep 0.1; done
UP=$(cat "$D/mock.port") || { echo "the mock did not start"; cat "$D/mock.log"; exit 1; }

# Two releases of the example agent: as it is (provider openai) and on Claude (provider
# anthropic, without the seed Messages has no name for), named claude-agent (a store keeps a
# release under its agent's name, the name the router's agent has).
cp -r "$BENCH_DIR/../../examples/support-agent" "$D/bundle"
release() { "$SLIPWAY" releases create "$D/bundle" --allow-dirty --json --state-dir "$D/state" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
REL_OPENAI=$(release) || exit 1
sed -i 's/^name: support-agent/name: claude-agent/; s/provider: openai/provider: anthropic/; s/gpt-4o-2024-08-06/claude-sonnet-4-20250514/; /^  seed: /d' "$D/bundle/agent.yaml"
REL_CLAUDE=$(release) || exit 1
printf 'sk-ant-bench-not-a-key\n' >"$D/anthropic.key"

RP=$(free_port)
cat >"$D/router.yaml" <<YAML
listen: 127.0.0.1:$RP
state_file: $D/router-state.json
store: $D/state
sessions: {max_pins: 100000}
providers:
  openai: {base_url: "http://127.0.0.1:$UP/v1", api_key_file: $D/anthropic.key}
  anthropic: {base_url: "http://127.0.0.1:$UP/v1", api_key_file: $D/anthropic.key, anthropic_version: "2023-06-01"}
agents:
  svc:
    versions:
      stable: {url: "http://127.0.0.1:$UP/v1"}
    route: {stable: stable}
  support-agent:
    mode: gateway
    route: {stable: "$REL_OPENAI"}
  claude-agent:
    mode: gateway
    route: {stable: "$REL_CLAUDE"}
YAML

# name|path|body (without the closing brace; ", \"stream\": true}" or "}" is added)
CHAT='"messages": [{"role": "user", "content": "where is my order NW-123456?"}]'
MSGS='"max_tokens": 200, "messages": [{"role": "user", "content": "where is my order NW-123456?"}]'
RESP='"input": "where is my order NW-123456?"'
ALL="chat|/v1/chat/completions|{\"model\": \"svc\", $CHAT
responses|/v1/responses|{\"model\": \"svc\", $RESP
messages|/v1/messages|{\"model\": \"svc\", $MSGS
gateway chat|/v1/chat/completions|{\"model\": \"support-agent\", $CHAT
gateway chat -> messages|/v1/chat/completions|{\"model\": \"claude-agent\", $CHAT
gateway responses -> messages|/v1/responses|{\"model\": \"claude-agent\", $RESP
gateway messages -> chat|/v1/messages|{\"model\": \"support-agent\", $MSGS"

# Every case answers 200 before anything is counted.
"$SLIPWAY" serve --config "$D/router.yaml" -q >"$D/router.log" 2>&1 &
RPID=$!
wait_http "$RP" || { echo "the router did not start"; cat "$D/router.log"; exit 1; }
while IFS='|' read -r name path body; do
    for end in "}" ", \"stream\": true}"; do
        code=$(curl -s -o "$D/check.out" -w '%{http_code}' -H 'Content-Type: application/json' -d "$body$end" "http://127.0.0.1:$RP$path")
        [ "$code" = 200 ] || { echo "$name ($body$end): $code $(head -c 300 "$D/check.out")"; exit 1; }
    done
done <<<"$ALL"

# Callgrind first (the router under valgrind, one start per run), then strace (one router).
kill "$RPID"; wait "$RPID" 2>/dev/null; RPID=
declare -A INS CALLS
while IFS='|' read -r name path body; do
    for s in 0 1; do
        c="$name"; end="}"
        [ $s = 1 ] && c="$name, streamed" end=", \"stream\": true}"
        [[ $c =~ $CASES ]] || continue
        url="http://127.0.0.1:$RP$path"
        export WRK_BODY="$body$end"
        read -r i1 _ n1 < <(router_callgrind "$D/router.yaml" "$RP" "$N_SMALL" "$url")
        read -r i2 _ n2 < <(router_callgrind "$D/router.yaml" "$RP" "$N_BIG" "$url")
        INS[$c]=$(( (i2 - i1) / (n2 - n1) ))
        echo "  $c: ${INS[$c]} instructions a request ($n2 - $n1 requests)" >&2
    done
done <<<"$ALL"
"$SLIPWAY" serve --config "$D/router.yaml" -q >"$D/router.log" 2>&1 &
RPID=$!
wait_http "$RP" || exit 1
ORDER=()
while IFS='|' read -r name path body; do
    for s in 0 1; do
        c="$name"; end="}"
        [ $s = 1 ] && c="$name, streamed" end=", \"stream\": true}"
        [[ $c =~ $CASES ]] || continue
        ORDER+=("$c")
        export WRK_BODY="$body$end"
        req=$(router_strace "$RPID" "http://127.0.0.1:$RP$path")
        CALLS[$c]=$(strace_rows "$req" | awk -F'|' '/^\| all / {gsub(/ /, "", $3); print $3}')
        echo "  $c: ${CALLS[$c]} system calls a request ($req requests)" >&2
        cp "$D/strace.txt" "$D/strace.$s.$(echo "$name" | tr -c 'a-z' _).txt"
    done
done <<<"$ALL"

echo "# slipway serve: each protocol's cost per request next to Chat Completions passed through ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "| case | instructions | vs chat | system calls | vs chat |"
echo "| --- | ---: | ---: | ---: | ---: |"
for c in "${ORDER[@]}"; do
    base=chat
    [[ $c == *streamed ]] && base="chat, streamed"
    python3 -c '
import sys
c, i, bi, s, bs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3] or 0), float(sys.argv[4]), float(sys.argv[5] or 0)
r = lambda a, b: "%.2f" % (a / b) if b else "-"
print("| %s | %d | %s | %.2f | %s |" % (c, i, r(i, bi), s, r(s, bs)))' "$c" "${INS[$c]}" "${INS[$base]:-}" "${CALLS[$c]}" "${CALLS[$base]:-}"
done
echo
echo "(vs chat: against Chat Completions passed through in service mode, whole or streamed alike; $N_BIG - $N_SMALL requests under callgrind, 16 at a time; strace -c of the event loop under wrk -c64 for 4 s)"
