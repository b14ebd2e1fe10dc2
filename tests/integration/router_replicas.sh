#!/usr/bin/env bash
# Three `slipway serve` replicas on one PostgreSQL store share the route table and pins: a change
# through one is seen by the others (LISTEN/NOTIFY), compare-and-swap holds across them, a
# replica started later loads the routes from the database, and with the database stopped
# traffic keeps flowing, route changes get 503, and once it is back every replica catches up
# with nothing acknowledged lost.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
pg_router_start

start_cluster A B C
on A admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"]')" 1 "the first replica seeded the database with router.yaml's route"
expect_eq "$(on B metric slipway_state_backend_up)" 1 "slipway_state_backend_up is 1"

# ---- a change through A reaches B and C ----
on A admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 50}'
expect_eq "$status" 200 "weight 50 through replica A"
wait_route B 'int(d["weight"])' 50 && ok "replica B applies it" || bad "replica B applies it"
wait_route C 'd["version"]' 2 && ok "replica C applies it (version 2)" || bad "replica C applies it"

# Compare-and-swap across replicas: B's change based on version 1 loses.
on B admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 10}'
expect_eq "$status" 409 "a change based on an old version is refused on another replica"
expect_eq "$(jget 'd["current_version"]')" 2 "naming the current version"
on C admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 25}'
expect_eq "$status" 200 "a change through C based on the newest version"
wait_route A 'int(d["weight"])' 25 && ok "A has C's change" || bad "A has C's change"
wait_route B 'int(d["weight"])' 25 && ok "B has C's change" || bad "B has C's change"

# ---- pins shared: a conversation's turns alternate replicas and keep their version ----
on A admin PUT /admin/agents/support-agent/route '{"version": 3, "weight": 50}'
expect_eq "$status" 200 "weight 50 (version 4)"
for n in B C; do wait_route $n 'd["version"]' 4 || bad "replica $n has version 4"; done
first_turns A 20 "the first turns on A split between v1 and v2"
# Written behind: the pins reach the database (polled; docs/scale-out.md states the bound).
expect_eq "$(wait_pins 'conv-%' 20)" 20 "A's new pins are written behind to the database"
on B admin PUT /admin/agents/support-agent/route '{"version": 4, "weight": 0}'
expect_eq "$status" 200 "weight 0 through B (version 5)"
for n in A C; do wait_route $n 'd["version"]' 5 || bad "replica $n has version 5"; done
kept=0
for i in $(seq 1 20); do
    for n in B C; do
        on $n chat "conv-$i" "turn two"
        [ "$version" == "${first[$i]}" ] && kept=$((kept + 1))
    done
done
expect_eq "$kept" 40 "after the weight drop, every conversation keeps its version on B and C"
on C admin POST /admin/agents/support-agent/rollback '{"version": 5, "sessions": "drain"}'
expect_eq "$status" 200 "a drain rollback through C (version 6)"
for n in A B; do wait_route $n 'd["version"]' 6 || bad "replica $n has version 6"; done
kept=0
for i in $(seq 1 20); do
    n=$([ $((i % 2)) -eq 0 ] && echo A || echo B)
    on $n chat "conv-$i" "turn three"
    [ "$version" == "${first[$i]}" ] && kept=$((kept + 1))
done
expect_eq "$kept" 20 "after the drain rollback, every conversation still keeps its version"
on B chat "conv-new" "hello"
expect_eq "$version" v1 "a new conversation gets the stable version"
expect_eq "$(wait_pins 'conv-new' 1)" 1 "B's pin is in the database"
body=$(curl -s --max-time 10 -H 'Content-Type: application/json' \
    -d '{"agent": "support-agent", "session": "conv-new", "type": "task", "outcome": "completed"}' \
    "$C_URL/v1/events" -w '\n%{http_code}')
status=${body##*$'\n'}
body=${body%$'\n'*}
expect_eq "$status" 202 "an event for a conversation C never served is accepted on C"
expect_eq "$(jget 'd["events"][0]["version"]')" "v1" "and attributed to the version B pinned it to"
on A admin PUT /admin/agents/support-agent/route '{"version": 6, "candidate": "v2", "weight": 25}'
expect_eq "$status" 200 "the candidate back at 25% (version 7)"
for n in B C; do wait_route $n 'd["version"]' 7 || bad "replica $n has version 7"; done

# ---- a replica started later loads the routes from the database ----
start_replica D
on D admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"]')-$(jget 'int(d["weight"])')" "7-25" "a new replica starts with the database's route, not router.yaml's"
kill -TERM "$D_PID"; wait "$D_PID"
expect_eq "$?" 0 "it stops cleanly"

# ---- the database stopped ----
pg_pause
wait_metric A slipway_state_backend_up 0 && ok "A's gauge goes to 0" || bad "A's gauge goes to 0"
wait_metric B slipway_state_backend_up 0 && ok "B's gauge goes to 0" || bad "B's gauge goes to 0"
served=0
for i in $(seq 1 10); do
    for n in A B C; do
        on $n chat "down-$n-$i" "hello"
        [ "$status" == 200 ] && served=$((served + 1))
    done
done
expect_eq "$served" 30 "traffic keeps flowing on every replica with the last routes"
# A burst larger than the listener writes in one turn (1000 pins): 2500 more new sessions on A.
python3 - "$A_URL" <<'PY' || bad "the burst of new sessions on A"
import http.client, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
body = '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}'
for i in range(1, 2501):
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json", "x-slipway-session": "burst-%d" % i})
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
expect_eq "$(on A metric slipway_shared_pins_queued)" 2510 "A's 2510 new pins wait in its queue (slipway_shared_pins_queued)"
on B admin PUT /admin/agents/support-agent/route '{"version": 7, "weight": 0}'
expect_eq "$status" 503 "a route change is refused with 503"
grep -q "state database is unreachable" <<<"$body" && ok "with a clear message" || bad "message: $body"
on B admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'int(d["weight"])')" 25 "the refused change changed nothing"
[ "$(grep -c "state database is unreachable" "$T/A.log")" == 1 ] && ok "the outage is logged once" || bad "the outage is logged $(grep -c "state database is unreachable" "$T/A.log") times"

pg_resume || bad "the database restarts"
for n in A B C; do
    wait_metric $n slipway_state_backend_up 1 && ok "replica $n reconnects" || bad "replica $n reconnects"
done
expect_eq "$(wait_pins 'down-%' 30)" 30 "the pins made during the outage are written once it is back"
expect_eq "$(wait_pins 'burst-%' 2500)" 2500 "and the burst, over several turns of the listener"
wait_metric A slipway_shared_pins_queued 0 && ok "A's queue is empty again" || bad "A's queue is empty again"
on B admin PUT /admin/agents/support-agent/route '{"version": 7, "weight": 5}'
expect_eq "$status" 200 "route changes are accepted again"
wait_route A 'int(d["weight"])' 5 && ok "A gets the change made after the outage" || bad "A gets it"
wait_route C 'int(d["weight"])' 5 && ok "C gets it" || bad "C gets it"

# A change made while a replica's listener was away: C is stopped with SIGSTOP (no NOTIFY
# read), the change is made, C goes on and catches up.
kill -STOP "$C_PID"
on A admin PUT /admin/agents/support-agent/route '{"version": 8, "weight": 7}'
expect_eq "$status" 200 "a change while C is frozen"
kill -CONT "$C_PID"
wait_route C 'int(d["weight"])' 7 && ok "C catches up when it runs again" || bad "C catches up"

# ---- a drain rollback through C reaches A and B ----
on C admin POST /admin/agents/support-agent/rollback '{"sessions": "drain"}'
expect_eq "$status" 200 "a drain rollback through C"
for n in A B; do
    wait_route $n 'str(d["candidate"]) + "/" + str(d["retired"].get("v2"))' "None/drain" &&
        ok "replica $n shows the rollback, v2 draining" || bad "replica $n shows the rollback"
done
count=$(psql_db "SELECT version FROM slipway.routes WHERE agent = 'support-agent'")
expect_eq "$count" 10 "every acknowledged change is in the database (version 10)"

for n in A B C; do
    pid=$(eval echo "\$${n}_PID")
    kill -TERM "$pid"
    wait "$pid"
    expect_eq "$?" 0 "replica $n exits 0 on SIGTERM"
done
if grep -q "Sanitizer\|runtime error:" "$T"/[ABCD].log; then bad "the sanitizer reported a problem"; else ok "nothing from the sanitizers"; fi
finish
