#!/usr/bin/env bash
# A restarted router keeps every route and every live session's pin (state written atomically).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=50 two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"

for i in $(seq 1 40); do
    chat "p$i" "hi"
    echo "p$i $version"
done >"$T/before.txt"
n2=$(grep -c ' v2$' "$T/before.txt")
[ "$n2" -gt 5 ] && [ "$n2" -lt 35 ] && ok "both versions have sessions ($n2 on v2)" || bad "$n2 of 40 on v2"
# Weight to 0: only the pins keep sessions on v2 now.
admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 0}'
expect_eq "$status" 200 "weight 0"
admin PUT /admin/agents/support-agent/pins/vip '{"version": "v2"}'
expect_eq "$status" 200 "an override pin"

stop_router
expect_eq "$stop_rc" 0 "stopped cleanly"
[ -s "$T/state/router.json" ] && ok "the state file exists" || bad "no state file"
grep -q tmp <<<"$(ls "$T/state")" && bad "a temporary file was left" || ok "no temporary file left"

start_router "$T/router.yaml"
for i in $(seq 1 40); do
    chat "p$i" "hi again"
    echo "p$i $version"
done >"$T/after.txt"
cmp -s "$T/before.txt" "$T/after.txt" && ok "every session kept its version across the restart" || bad "sessions moved: $(diff "$T/before.txt" "$T/after.txt" | head -5)"
chat "new-session" "hi"
expect_eq "$version" v1 "a new session gets weight 0's stable"
chat "vip" "hi"
expect_eq "$version/$(hdr x-slipway-assignment)" v2/pin "the override pin survived"
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"]')/$(jget 'd["weight"]')" 2/0.0 "the route survived, version and all"
expect_eq "$(jget 'd["pins"]["by_version"]["v2"]')" "$((n2 + 1))" "the pins are counted by version"

# kill -9: the state written before the crash is what a restart finds.
admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 10}'
disown "$ROUTER_PID" # no job notice for the kill below
kill -9 "$ROUTER_PID"
for i in $(seq 1 100); do kill -0 "$ROUTER_PID" 2>/dev/null || break; sleep 0.05; done
start_router "$T/router.yaml"
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["weight"]')" 10.0 "a route change is durable before it is acknowledged"

# New pins and a removal reach the file within a second (through the state writer's copy of
# the pin table, from the loop's change log) and survive a kill -9.
for i in 1 2 3; do chat "k$i" "hi"; done
admin DELETE /admin/agents/support-agent/pins/p1
expect_eq "$status" 200 "a pin removed"
sleep 2.5
disown "$ROUTER_PID"
kill -9 "$ROUTER_PID"
for i in $(seq 1 100); do kill -0 "$ROUTER_PID" 2>/dev/null || break; sleep 0.05; done
start_router "$T/router.yaml"
for i in 1 2 3; do
    admin GET "/admin/agents/support-agent/pins/k$i"
    expect_eq "$status/$(jget 'd["reason"]')" 200/split "new session k$i kept its pin"
done
admin GET /admin/agents/support-agent/pins/p1
expect_eq "$status" 404 "the removed pin stayed removed"
admin GET /admin/agents/support-agent/pins/vip
expect_eq "$status/$(jget 'd["version"]')" 200/v2 "the override pin is still there"
admin GET /admin/agents/support-agent/pins
expect_eq "$(jget 'd["summary"]["total"]')" 44 "every other pin too (p1..p40 less p1, vip, new-session, k1..k3)"

# A damaged state file stops the router with a clear message.
stop_router
echo '{"format": 1, "routes": {"support-agent": {"stable": "v7"}}}' >"$T/state/router.json"
swr serve --config "$T/router.yaml"
expect_rc 2 "a bad state file is refused"
expect_out "saved route of agent 'support-agent'" "and named"
router_done
finish
