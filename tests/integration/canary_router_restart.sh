#!/usr/bin/env bash
# kill -9 of the ROUTER in the middle of a canary step, then a restart on the same config, state
# file and port: the route (candidate, weight, route version) and the pins (a session pinned to
# the candidate before the kill) are intact, and the canary, which kept asking the router while
# it was away (router_retry), carries on and promotes. The canary waits in its 25% step for
# min_sessions, polling the router, so the kill lands while it talks to the router; the test adds
# the sessions it waits for only after the restart. Nothing here depends on timing.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"
# From now on the router listens on the port it got, so the canary finds it again.
stop_router
sed -i "s/^listen: 127.0.0.1:0$/listen: 127.0.0.1:$ROUTER_PORT/" "$T/router.yaml"
start_router "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: canary-router-restart
vars: {router: "", token: "", candidate: ""}
stages:
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      steps: [5, {weight: 25, min_sessions: 5}, 100]
      hold: 100ms
      router_retry: 2m
YAML
"$SLIPWAY" run "$T/pipeline.yaml" --set "vars.router=$URL" --set "vars.token=$T/token" \
    --set "vars.candidate=$B" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
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
wait_out "step 2/3: 25%" && ok "the canary reached its 25% step" || bad "no 25% step"

# A session pinned to the candidate by the split (new sessions until one lands on B).
pinned=""
for i in $(seq 1 200); do
    chat "before-kill-$i" "hello"
    if [ "$version" = "$B" ]; then pinned="before-kill-$i"; break; fi
done
[ -n "$pinned" ] && ok "session $pinned is pinned to B" || { bad "no session reached B"; finish; }
admin GET /admin/agents/support-agent/route
before=$(jget 'd["version"], d["stable"], d["candidate"], d["weight"]')
expect_eq "$(jget 'd["candidate"], d["weight"]')" "('$B', 25.0)" "the route before the kill: B at 25%"
# Pins are saved a moment after they change: wait for this one to be on disk before the kill.
on_disk() {
    python3 - "$T/router-state.json" "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
sys.exit(0 if any(p["session"] == sys.argv[2] for p in d["pins"]) else 1)
PY
}
for _ in $(seq 1 200); do on_disk "$pinned" && break; sleep 0.05; done
on_disk "$pinned" && ok "the pin is in the state file" || bad "the pin never reached the state file"

disown "$ROUTER_PID" # no job notice for the kill below
kill -9 "$ROUTER_PID"
for _ in $(seq 1 100); do kill -0 "$ROUTER_PID" 2>/dev/null || break; sleep 0.05; done
wait_out "router unreachable" && ok "the canary notices the router is away" || bad "no retry logged"
kill -0 "$run_pid" 2>/dev/null && ok "and keeps going" || bad "the canary stopped with the router"

# restart_router: the same config, state file and port; tried again while the port is still
# taken (the router then exits at once).
restart_router() {
    local try i pid
    for try in $(seq 1 40); do
        rm -f "$T/router.port"
        "$SLIPWAY" serve --config "$T/router.yaml" --port-file "$T/router.port" >>"$T/router.log" 2>&1 &
        pid=$!
        for i in $(seq 1 200); do
            [ -s "$T/router.port" ] && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if [ -s "$T/router.port" ]; then
            ROUTER_PID=$pid
            PIDS+=($pid)
            return 0
        fi
        wait "$pid" 2>/dev/null
        sleep 0.1
    done
    return 1
}
restart_router && [ "$(cat "$T/router.port")" = "$ROUTER_PORT" ] && ok "the router restarted on the same port" ||
    { bad "the router did not restart"; finish; }
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"], d["stable"], d["candidate"], d["weight"]')" "$before" \
    "the route survived the kill: version, stable, candidate, weight"
expect_eq "$(jget 'd["pins"]["by_version"].get("'"$B"'", 0) >= 1')" True "the pins on B are counted again"
chat "$pinned" "still there?"
expect_eq "$version/$(hdr x-slipway-assignment)" "$B/pin" "the pinned session is still on B, by its pin"
wait_out "the router answers again" && ok "the canary found the router again" || bad "no reconnection logged"

# The sessions the 25% step waits for: pinned to B by override.
for i in 1 2 3 4 5; do
    admin PUT "/admin/agents/support-agent/pins/after-restart-$i" "{\"version\": \"$B\"}"
done
expect_eq "$status" 200 "sessions pinned to B after the restart"
wait "$run_pid"
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "the canary run completes across the router's restart"
expect_out "step 3/3: 100%" "through the last step"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "promoted in the router"
expect_eq "$(channel stable)/$(channel candidate)" "$B/None" "and in the store"
R="$(run_dir)"
journal_has "$R" stage_end canary && ok "the journal has the canary's end" || bad "no stage_end in the journal"
expect_eq "$(python3 - "$R/journal.jsonl" <<'PY'
import json, sys
msgs = [e.get("message", "") for e in map(json.loads, open(sys.argv[1])) if e["event"] == "log" and e.get("stage") == "canary"]
print(sum("router unreachable" in m for m in msgs), sum(m == "the router answers again" for m in msgs))
PY
)" "1 1" "the journal: one 'unreachable', one 'answers again'"
S="$R/artifacts/canary/report-section.json"
expect_eq "$(json "$S" "[e['status'] for e in d['events'] if e['label'].startswith('router ')]")" "['warn', 'info']" \
    "the report section shows the router away and back"

# A router that stays away fails the stage once router_retry has passed, naming the call.
stop_router
sed -i 's/router_retry: 2m/router_retry: 1s/' "$T/pipeline.yaml"
swr releases set support-agent stable "$A"
sw run "$T/pipeline.yaml" --set "vars.router=$URL" --set "vars.token=$T/token" --set "vars.candidate=$B"
expect_rc 1 "no router for longer than router_retry: the stage fails"
expect_out "/admin/agents/support-agent/route" "naming the call"
expect_out "(no answer for router_retry, 1000 ms)" "and the retry window"
router_done
finish
