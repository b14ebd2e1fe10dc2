#!/usr/bin/env bash
# POST /v1/events: outcomes reported by the application are attributed to the version the
# session is pinned to; bad events get 400 with the reason.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
admin PUT /admin/agents/support-agent/pins/on-v2 '{"version": "v2"}'
chat "on-v2" "hi"
expect_eq "$version" v2 "a session pinned to v2"
chat "on-v1" "hi"

# event JSON [CURL ARGS]: POST an event; status and body set.
event() {
    local data=$1
    shift
    body=$(curl -s --max-time 10 -o - -w '\n%{http_code}' "$@" -d "$data" "$URL/v1/events")
    status=${body##*$'\n'}
    body=${body%$'\n'*}
}

event '{"type": "task", "session": "on-v2", "outcome": "completed"}'
expect_eq "$status" 202 "a task event"
expect_eq "$(jget 'd["events"][0]["version"]')" v2 "attributed to v2 through the pin"
event '[{"type": "task", "session": "on-v2", "outcome": "failed"},
        {"type": "tool_call", "session": "on-v2", "name": "issue_refund", "ok": false},
        {"type": "feedback", "session": "on-v2", "score": -1},
        {"type": "feedback", "session": "on-v1", "score": 1}]'
expect_eq "$status/$(jget 'd["accepted"]')" 202/4 "a batch of events"
event '{"type": "tool_call", "name": "lookup_order", "ok": true}' -H 'x-slipway-session: on-v2'
expect_eq "$status" 202 "the session from the header"
event '{"type": "task", "agent": "support-agent", "session": "on-v1", "outcome": "completed"}' 
expect_eq "$status" 202 "with the agent named"

event '{"type": "task", "session": "on-v2", "outcome": "done"}'
expect_eq "$status" 400 "a bad outcome"
expect_eq "$(jget 'd["error"]["message"]')" "a task event needs 'outcome': completed or failed" "says what is wrong"
event '{"type": "vote", "session": "on-v2"}'
expect_eq "$status" 400 "an unknown type"
event '{"type": "feedback", "session": "on-v2", "score": 5}'
expect_eq "$status" 400 "a bad score"
event '{"type": "task", "outcome": "completed"}'
expect_eq "$status" 400 "no session"
event '[{"type": "task", "session": "on-v2", "outcome": "completed"}, {"type": "tool_call", "session": "on-v2", "ok": true}]'
expect_eq "$status" 400 "a bad event in a batch"
expect_eq "$(jget 'd["error"]["message"].startswith("event 2:")')" True "names the event"
event 'not json'
expect_eq "$status" 400 "not JSON"
event '{"type": "task", "session": "never-seen", "outcome": "completed"}'
expect_eq "$status/$(jget 'd["error"]["code"]')" 404/session_not_found "a session with no pin"

admin GET "/admin/stats?agent=support-agent&since=1h"
expect_eq "$(jget 'd["versions"]["v2"]["events"]["tasks_completed"]')" 1 "v2: tasks completed"
expect_eq "$(jget 'd["versions"]["v2"]["events"]["tasks_failed"]')" 1 "v2: tasks failed (none of the rejected batch)"
expect_eq "$(jget 'd["versions"]["v2"]["events"]["task_success_rate"]')" 0.5 "v2: task success rate"
expect_eq "$(jget 'd["versions"]["v2"]["events"]["tool_error_rate"]')" 0.5 "v2: tool error rate"
expect_eq "$(jget 'd["versions"]["v2"]["events"]["feedback_negative"]')" 1 "v2: feedback"
expect_eq "$(jget 'd["versions"]["v1"]["events"]["feedback_positive"]')" 1 "v1: its own feedback"
expect_eq "$(jget 'd["versions"]["v1"]["events"]["tasks_completed"]')" 1 "v1: its own task"
expect_eq "$(metric 'slipway_events_total{agent="support-agent",version="v2",type="tool_call",outcome="error"}')" 1 "events in /metrics"
router_done
finish
