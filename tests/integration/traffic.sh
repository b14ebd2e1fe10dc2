#!/usr/bin/env bash
# `slipway traffic` against a real router (gateway mode) in front of a real `slipway mock` playing
# the demo's model (pipelines/demo/mock.yaml): release A as it is, release B with the demo's
# regressed prompt, which makes most of its order lookups fail the tool's schema. Sessions are
# multi-turn and sticky, tool calls and task outcomes reach the router as events attributed to
# the right version, the same seed gives the same traffic, and bad usage is refused.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$SW_SOURCE_DIR/pipelines/demo/mock.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
printf '\nWhen you look up an order, quote its number without the NW- prefix.\n' >>"$T/bundle/prompts/system.md"
swr releases create "$T/bundle" --allow-dirty --json
B=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
[ -n "$A" ] && [ -n "$B" ] && [ "$A" != "$B" ] && ok "releases A=$A and B=$B" || { bad "releases '$A' '$B'"; finish; }
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"
admin GET /admin/agents/support-agent/route
admin PUT /admin/agents/support-agent/route "{\"version\": $(jget 'd["version"]'), \"candidate\": \"$B\", \"weight\": 50}"
expect_eq "$status" 200 "B at 50%"

TRAFFIC=(traffic --router "$URL" --agent support-agent --users 4 --rate 40 --duration 2s --seed 7
         --tools "$T/bundle/tools" --json)
swr "${TRAFFIC[@]}"
expect_rc 0 "the traffic run"
summary=$(printf '%s' "$out" | tail -n 1)
s() { printf '%s' "$summary" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
expect_eq "$(s 'd["sessions"]')" 80 "40 sessions/s for 2 s: 80 sessions, however slow the machine"
expect_eq "$(s 'd["completed"] + d["failed"]')" 80 "each session completed or failed"
expect_eq "$(s 'd["request_errors"]')" 0 "no request failed"
expect_eq "$(s 'd["events_rejected"]')" 0 "the router took every event"
expect_eq "$(s 'd["events_sent"] == d["tool_calls"] + d["sessions"]')" True \
    "one event per tool call and one per session"
expect_eq "$(s 'd["requests"] > d["sessions"] and d["tool_calls"] > 0')" True \
    "multi-turn sessions with tool calls ($(s 'd["requests"]') requests, $(s 'd["tool_calls"]') tool calls)"
expect_eq "$(s 'sorted(d["by_version"]) == sorted(["'"$A"'", "'"$B"'"])')" True "sessions on both versions"
expect_eq "$(s 'd["failed"] == d["tool_errors"] > 0')" True \
    "the refused tool calls ($(s 'd["tool_errors"]')) failed their sessions"
expect_eq "$(s 'd["version_changes"]')" 0 "no session changed version mid-conversation (pinned)"

# What the router counted, per version: the events went to the session's version.
admin GET "/admin/stats?agent=support-agent"
ev() { jget "d['versions']['$1']['events']['$2']"; }
expect_eq "$(ev "$A" tool_calls_error)" 0 "A: no refused tool call"
expect_eq "$(ev "$A" tasks_failed)" 0 "A: no failed task"
[ "$(ev "$A" tool_calls_ok)" -ge 1 ] && ok "A: tool calls ok ($(ev "$A" tool_calls_ok))" || bad "A tool_calls_ok"
expect_eq "$(ev "$B" tool_calls_error)" "$(s 'd["tool_errors"]')" "B: every refused tool call"
expect_eq "$(ev "$B" tasks_failed)" "$(s 'd["failed"]')" "B: every failed task"
expect_eq "$(( $(ev "$A" tasks_completed) + $(ev "$B" tasks_completed) + $(ev "$A" tasks_failed) + $(ev "$B" tasks_failed) ))" \
    80 "one task event per session"
expect_eq "$(jget "d['versions']['$A']['requests'] + d['versions']['$B']['requests']")" "$(s 'd["requests"]')" \
    "the router saw every request"

# The same seed: the same conversations, the same outcomes (the sessions are pinned already).
swr "${TRAFFIC[@]}"
expect_rc 0 "the same traffic again"
again=$(printf '%s' "$out" | tail -n 1)
strip() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.pop("elapsed_s"); print(json.dumps(d, sort_keys=True))' "$1"; }
expect_eq "$(strip "$again")" "$(strip "$summary")" "the same seed gives the same traffic"

# The session key in a header the router does not read: every turn is a new session to it, so at
# 50% most conversations are answered by both versions, and traffic counts them.
swr traffic --router "$URL" --agent support-agent --users 2 --rate 40 --duration 0.5s --seed 10 \
    --session-header x-not-the-session --json
n=$(printf '%s' "$out" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["version_changes"])')
[ "${n:-0}" -ge 1 ] && ok "unpinned turns: $n sessions changed version mid-conversation, counted" ||
    bad "version_changes '$n' without pins"
swr traffic --router "$URL" --agent support-agent --users 2 --rate 40 --duration 0.5s --seed 10 \
    --session-header x-not-the-session
expect_out "sessions changed version mid-conversation" "the text summary says so"

# Without --tools only the JSON of the arguments is checked: B's bad order numbers pass.
swr traffic --router "$URL" --agent support-agent --users 2 --rate 40 --duration 0.5s --seed 8 --json
expect_rc 0 "traffic without tool schemas"
expect_eq "$(printf '%s' "$out" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["tool_errors"])')" 0 \
    "no tool call refused"

# The text summary, and a stop on SIGTERM while sessions keep starting (--duration 0).
"$SLIPWAY" traffic --router "$URL" --agent support-agent --users 2 --rate 20 --duration 0 --seed 9 \
    >"$T/bg.out" 2>&1 &
bg=$!
PIDS+=($bg)
admin GET "/admin/stats?agent=support-agent"
n0=$(jget "sum(v['requests'] for v in d['versions'].values())")
for i in $(seq 1 200); do
    admin GET "/admin/stats?agent=support-agent"
    [ "$(jget "sum(v['requests'] for v in d['versions'].values())")" -gt "$((n0 + 5))" ] && break
    sleep 0.05
done
kill -TERM "$bg"
for i in $(seq 1 400); do kill -0 "$bg" 2>/dev/null || break; sleep 0.05; done
wait "$bg"
rc=$?
out=$(cat "$T/bg.out")
expect_rc 0 "SIGTERM stops the traffic"
expect_out "traffic: " "with the summary line"
expect_out "sessions by version: " "and the sessions by version"

# Nothing gets through: exit 1.
swr traffic --router "http://127.0.0.1:1" --agent support-agent --rate 50 --duration 0.1s --timeout 2s
expect_rc 1 "no router: exit 1"
expect_out "0 completed" "every session failed"

# Usage.
swr traffic --agent support-agent
expect_rc 2 "--router is required"
swr traffic --router "$URL"
expect_rc 2 "--agent is required"
swr traffic --router "$URL" --agent support-agent --rate 0
expect_rc 2 "a rate of 0"
swr traffic --router "$URL" --agent support-agent --duration soon
expect_rc 2 "a duration that is not one"
swr traffic --router "$URL" --agent support-agent --tools "$T/nonexistent"
expect_rc 2 "a missing tools folder"
swr traffic --help
expect_rc 0 "--help"
expect_out "--session-header" "the help lists the options"
router_done
finish
