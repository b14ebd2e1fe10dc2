#!/usr/bin/env bash
# A canary through a cluster: PostgreSQL, three `slipway serve` replicas on it behind HAProxy
# (round robin, no affinity), `slipway traffic` through HAProxy, and a real `slipway run` whose
# canary steps the route through HAProxy (so each change may reach another replica) while a
# background monitor watches every replica (`routers: [A, B, C]`). Replica C is killed with
# kill -9 mid-canary: the others carry on, the monitor leaves C out, the canary finishes and
# promotes. Then: no conversation changed version mid-way, every replica shows the same route,
# the monitor's counts are the sum of the surviving replicas' /admin/stats. Then a `drain`
# rollback through HAProxy reaches every replica, and conversations in flight keep their
# version. (tests/integration/router_cluster_outage.sh stops the database mid-canary.)
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
start_lb_cluster
canary_pipeline "$T/canary.yaml" "[5, 25, 50, 100]" "      approve_file: $T/approve
      approve_timeout: 60s"
"$SLIPWAY" run "$T/canary.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
RUN_PID=$!
PIDS+=($RUN_PID)
# The monitor's window is open once it journals its signals (before its first look); the
# traffic starts after, so every request it makes is inside the window.
J() { echo "$(run_dir)/journal.jsonl"; }
monitor_open() { [ -d "$SLIPWAY_STATE_DIR/runs" ] && grep -q '"key":"watch.hold"' "$(J)" 2>/dev/null; }
wait_until 20 monitor_open || bad "the monitor started"
"$SLIPWAY" traffic --router "$LB_URL" --agent support-agent --users 4 --rate 20 --duration 0 \
    --seed 3 --json >"$T/traffic.json" 2>"$T/traffic.err" &
TRAFFIC=$!
PIDS+=($TRAFFIC)

# kill -9 of replica C once the canary is at 25%.
wait_route A 'int(d["weight"]) >= 25' True && ok "the canary reached 25% on replica A" || bad "the canary reached 25%"
kill -9 "$C_PID"
wait "$C_PID" 2>/dev/null
wait_route B 'int(d["weight"])' 100 && ok "the canary went on to 100% without replica C" || bad "the canary reached 100%"
# The canary now waits for approval: the traffic stops, then the monitor looks twice more, so
# its counts hold every request.
kill -TERM "$TRAFFIC"
wait "$TRAFFIC"
expect_eq "$?" 0 "slipway traffic ends on SIGTERM"
looks() { grep -c '"event":"progress","stage":"watch"' "$(J)"; }
n0=$(looks)
looked_twice() { [ "$(looks)" -ge $((n0 + 2)) ]; }
wait_until 20 looked_twice || bad "the monitor looked again after the traffic"
touch "$T/approve"
wait "$RUN_PID"
rc=$?
out=$(cat "$T/run.out")
expect_rc 0 "the canary pipeline succeeds"
expect_out "step 4/4: 100%" "through every step"
expect_out "router: stable is now v2" "and promotes v2 on the router"
expect_out "failed 3 looks in a row" "the monitor left the killed replica out"

body=$(cat "$T/traffic.json")
echo "    # traffic: $body"
expect_eq "$(jget 'd["version_changes"]')" 0 "no conversation changed version mid-way ($(jget 'd["sessions"]') sessions)"
[ "$(jget 'd["completed"]')" -ge 20 ] && ok "conversations completed through HAProxy ($(jget 'd["completed"]'))" || bad "completed"
[ "$(jget 'd["failed"]')" -le 4 ] && ok "at most the conversations in flight on the killed replica failed ($(jget 'd["failed"]'))" || bad "failed"
expect_eq "$(jget 'sorted(d["by_version"])')" "['v1', 'v2']" "conversations on both versions"

for n in A B; do
    wait_route $n 'd["stable"], d["candidate"]' "('v2', None)" && ok "replica $n: v2 stable, no candidate" || bad "replica $n's route"
done
on A admin GET /admin/agents/support-agent/route
va=$(jget 'd["version"]')
on B admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"]')" "$va" "replicas A and B at the same route version"
expect_eq "$(psql_db "SELECT version FROM slipway.routes WHERE agent = 'support-agent'")" "$va" "the database's"

# The monitor's counts: A's and B's (C's went with it), per version.
R="$(run_dir)/report.json"
for v in v2 v1; do
    total=0
    for n in A B; do
        on $n admin GET "/admin/stats?agent=support-agent&since=0"
        total=$((total + $(jget "d['versions'].get('$v', {}).get('requests', 0)")))
    done
    side=candidate
    [ $v = v1 ] && side=baseline
    expect_eq "$(json "$R" "d['outputs']['watch.samples']['value']['$side']")" "$total" \
        "the monitor's $side count is the sum of replicas A and B ($total $v requests)"
done

# ---- a drain rollback through HAProxy, with conversations in flight ----
"$SLIPWAY" traffic --router "$LB_URL" --agent support-agent --users 4 --rate 20 --duration 0 \
    --seed 4 --json >"$T/traffic2.json" 2>"$T/traffic2.err" &
TRAFFIC=$!
PIDS+=($TRAFFIC)
# Conversations that began on v2 (stable now), their pins in the database.
for i in $(seq 1 10); do
    URL=$LB_URL chat "drain-$i" "turn one"
    [ "$version" = v2 ] || bad "drain-$i began on $version"
done
expect_eq "$(wait_pins 'drain-%' 10)" 10 "ten conversations pinned on v2"
swr route rollback support-agent --router "$LB_URL" --to v1 --sessions drain
expect_rc 0 "slipway route rollback --to v1 --sessions drain through HAProxy"
for n in A B; do
    wait_route $n 'd["stable"], d["candidate"]' "('v1', None)" && ok "replica $n has the rollback" || bad "replica $n's route after the rollback"
done
kept=0
for i in $(seq 1 10); do
    n=A
    [ $((i % 2)) = 0 ] && n=B
    on $n chat "drain-$i" "turn two"
    [ "$status" = 200 ] && [ "$version" = v2 ] && kept=$((kept + 1))
done
expect_eq "$kept" 10 "every conversation in flight keeps v2 on either replica (drain)"
on A chat "after-rollback" "hello"
expect_eq "$version" v1 "a new conversation gets v1"
# Traffic on both sides of the rollback: the sessions that began after it are on v1.
v1_requests() {
    local n sum=0
    for n in A B; do
        on $n admin GET "/admin/stats?agent=support-agent&since=0"
        sum=$((sum + $(jget "d['versions'].get('v1', {}).get('requests', 0)")))
    done
    echo $sum
}
more_v1() { [ "$(v1_requests)" -gt "$((total + 20))" ]; }
wait_until 20 more_v1 || bad "traffic went on after the rollback"
kill -TERM "$TRAFFIC"
wait "$TRAFFIC"
body=$(cat "$T/traffic2.json")
echo "    # traffic: $body"
expect_eq "$(jget 'd["version_changes"]')" 0 "no conversation changed version across the rollback"
expect_eq "$(jget 'd["request_errors"]')" 0 "no request failed"
if grep -q "Sanitizer\|runtime error:" "$T"/A.log "$T"/B.log; then
    out=$(grep -A20 "Sanitizer\|runtime error:" "$T"/A.log "$T"/B.log | head -40)
    bad "the sanitizers reported a problem"
fi
finish
