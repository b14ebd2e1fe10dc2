#!/usr/bin/env bash
# Rollback with each session policy: drain (pinned sessions finish on their version), migrate
# (pins moved to stable now), terminate (pinned sessions get 409 and must start over).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=100 two_versions_config "$T/router.yaml"

for policy in drain migrate terminate; do
    rm -rf "$T/state"
    start_router "$T/router.yaml"
    chat "old-$policy" "hi"
    expect_eq "$version" v2 "$policy: a session on the candidate"
    swr route rollback support-agent --sessions "$policy" --router "$URL"
    expect_rc 0 "$policy: slipway route rollback"
    expect_out "sessions: $policy (1 pinned sessions affected)" "$policy: one pinned session affected"
    chat "new-$policy" "hi"
    expect_eq "$version" v1 "$policy: a new session goes to stable"
    chat "old-$policy" "and again"
    case $policy in
    drain)
        expect_eq "$status/$version" 200/v2 "drain: the pinned session finishes on v2"
        admin GET /admin/agents/support-agent/route
        expect_eq "$(jget 'd["retired"]')" "{'v2': 'drain'}" "drain: v2 is retired, draining"
        ;;
    migrate)
        expect_eq "$status/$version" 200/v1 "migrate: the pinned session moved to v1"
        ;;
    terminate)
        expect_eq "$status" 409 "terminate: the pinned session gets 409"
        expect_eq "$(jget 'd["error"]["code"]')" session_terminated "with a clear error code"
        expect_eq "$(jget '"start a new conversation" in d["error"]["message"]')" True "telling it to start over"
        chat "old-$policy" "once more"
        expect_eq "$status" 409 "terminate: and again (until it goes idle)"
        ;;
    esac
    stop_router
done

# Rollback keeps rules only for the version rolled back to, and is refused for unknown agents.
rm -rf "$T/state"
start_router "$T/router.yaml"
admin PUT /admin/agents/support-agent/route '{"version": 1, "rules": [{"header": "x-team", "op": "eq", "value": "a", "version": "v2"}]}'
expect_eq "$status" 200 "a rule to v2"
admin POST /admin/agents/support-agent/rollback '{}'
expect_eq "$(jget 'd["route"]["rules"]')" "[]" "the rule to v2 is gone"
expect_eq "$(jget 'd["sessions"]')" drain "the default policy is the route's (drain)"
admin POST /admin/agents/nobody/rollback '{}'
expect_eq "$status" 404 "an unknown agent"
router_done
finish
