#!/usr/bin/env bash
# `slipway routes` and `slipway route --store postgres://...` read and change the route table
# that three `slipway serve` replicas share, in the database: a change is seen by every replica,
# a drain rollback keeps pinned conversations on their version on every replica (one started
# later too), compare-and-swap holds against a concurrent change, bad input gets the admin
# API's errors, and with the database down nothing is written.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
pg_router_start
unset SLIPWAY_STORE SLIPWAY_ROUTER SLIPWAY_ROUTER_TOKEN

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml" "store: $DB"
# No candidate in router.yaml: a replica started later knows of v2's sessions from the
# database's route alone.
sed -i 's/route: {stable: v1, candidate: v2, weight: 0}/route: {stable: v1}/' "$T/router.yaml"

db_version() { psql_db "SELECT version FROM slipway.routes WHERE agent = 'support-agent'"; }
# field EXPR: EXPR of the JSON in $out.
field() { printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

start_replica A
start_replica B
start_replica C
expect_eq "$(db_version)" 1 "the first replica seeded the database"

# ---- reading ----
swr routes --store "$DB"
expect_rc 0 "routes --store lists the database's routes"
expect_out "agent support-agent  (service, route version 1)" "support-agent at route version 1"
expect_out "v2               http://127.0.0.1:$v2_PORT/v1" "with its versions' URLs"
swr routes support-agent --store "$DB" --json
expect_rc 0 "routes AGENT --store --json"
expect_eq "$(field 'd["version"]')-$(field 'd["stable"]')" "1-v1" "the stored route as JSON"

# ---- a change through the database reaches every replica ----
swr route set support-agent --candidate v2 --weight 50 --store "$DB"
expect_rc 0 "route set --candidate v2 --weight 50 --store"
expect_out "route version 2" "answers with the new route version"
expect_out "candidate  v2 at 50% of sessions" "and the new split"
for n in A B C; do
    wait_route $n 'd["version"]' 2 && ok "replica $n applies it" || bad "replica $n applies it"
done
on B admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'int(d["weight"])')" 50 "replica B splits 50%"
SLIPWAY_STORE="$DB" swr routes support-agent --json
expect_rc 0 "routes with \$SLIPWAY_STORE a database and no --router"
expect_eq "$(field 'int(d["weight"])')" 50 "reads the database"
SLIPWAY_STORE="$DB" SLIPWAY_ROUTER="$A_URL" swr routes support-agent
expect_rc 2 "\$SLIPWAY_STORE (a database) and \$SLIPWAY_ROUTER together are refused"
expect_out "give --router URL or --store URL" "saying which to give"
SLIPWAY_STORE="$DB" swr routes support-agent --router "$A_URL" --json
expect_rc 0 "--router wins over \$SLIPWAY_STORE"
expect_out '"pins"' "(the router's answer, with its pins)"

# ---- pins: conversations pinned on A keep their version through a drain rollback ----
first_turns A 16 "the first turns split between v1 and v2"
expect_eq "$(wait_pins 'conv-%' 16)" 16 "A's pins are in the database"
swr route rollback support-agent --sessions drain --store "$DB"
expect_rc 0 "route rollback --sessions drain --store"
expect_out "rolled back support-agent to v1 at route version 3; sessions: drain" "says what it did"
for n in A B C; do
    wait_route $n 'str(d["candidate"]) + "/" + str(d["retired"].get("v2"))' "None/drain" &&
        ok "replica $n has the rollback, v2 draining" || bad "replica $n has the rollback"
done
expect_eq "$(psql_db "SELECT policy FROM slipway.routes WHERE agent = 'support-agent'")" drain "the row holds the change's session policy"
kept=0
for i in $(seq 1 16); do
    case $((i % 3)) in 0) n=A ;; 1) n=B ;; 2) n=C ;; esac
    on $n chat "conv-$i" "turn two"
    [ "$version" == "${first[$i]}" ] && kept=$((kept + 1)) || echo "    # conv-$i on $n: $version, was ${first[$i]}"
done
expect_eq "$kept" 16 "every conversation keeps its version on replicas A, B and C"
# A replica started after the rollback loads it, the draining version with it: each
# conversation's next turn there keeps its version too.
start_replica D
on D admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'str(d["version"]) + "/" + str(d["retired"].get("v2"))')" "3/drain" "replica D starts with the rollback, v2 draining"
kept=0
for i in $(seq 1 16); do
    on D chat "conv-$i" "turn three"
    [ "$version" == "${first[$i]}" ] && kept=$((kept + 1)) || echo "    # conv-$i on D: $version, was ${first[$i]}"
done
expect_eq "$kept" 16 "and every conversation keeps its version on D"
on C chat "conv-new" "hello"
expect_eq "$version" v1 "a new conversation gets stable"

# ---- compare-and-swap ----
swr route set support-agent --candidate v2 --weight 10 --route-version 2 --store "$DB"
expect_rc 1 "a change based on an old route version is refused"
expect_out "is at version 3, not 2" "naming the current version"
# Two changes at once based on the same version: exactly one is made.
"$SLIPWAY" route set support-agent --candidate v2 --weight 20 --route-version 3 --store "$DB" >"$T/c1.out" 2>&1 &
p1=$!
"$SLIPWAY" route set support-agent --candidate v2 --weight 30 --route-version 3 --store "$DB" >"$T/c2.out" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
expect_eq "$(( (r1 == 0) + (r2 == 0) ))-$(( (r1 == 1) + (r2 == 1) ))" "1-1" "of two concurrent changes one wins, the other exits 1"
grep -q "route_version_conflict\|is at version 4" "$T/c1.out" "$T/c2.out" && ok "the loser is told of the conflict" || bad "the loser: $(cat "$T/c1.out" "$T/c2.out")"
expect_eq "$(db_version)" 4 "one change in the database"
# A change between the read and the transaction: another session holds the row, changes it
# and commits while `route set` waits on the row lock.
coproc HOLD { psql -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -Aqt 2>&1; }
echo "BEGIN; SELECT version FROM slipway.routes WHERE agent = 'support-agent' FOR UPDATE;" >&"${HOLD[1]}"
read -r -t 20 held <&"${HOLD[0]}"
expect_eq "$held" 4 "another session holds the row"
"$SLIPWAY" route set support-agent --weight 40 --store "$DB" >"$T/c3.out" 2>&1 &
p3=$!
for i in $(seq 1 400); do
    [ "$(psql_db "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'")" -ge 1 ] && break
    sleep 0.05
done
echo "UPDATE slipway.routes SET version = 5, route = jsonb_set(jsonb_set(route::jsonb, '{version}', '5'), '{weight}', '15')::text WHERE agent = 'support-agent'; SELECT pg_notify('slipway_routes', 'support-agent'); COMMIT;" >&"${HOLD[1]}"
wait $p3
expect_eq "$?" 1 "the waiting change loses the compare-and-swap in the database (exit 1)"
grep -q "is at version 5 in the database, not 4" "$T/c3.out" && ok "with the database's version" || bad "message: $(cat "$T/c3.out")"
hold_pid=$HOLD_PID
eval "exec ${HOLD[1]}>&-"
wait "$hold_pid" 2>/dev/null
for n in A B C D; do
    wait_route $n 'str(d["version"]) + "-" + str(int(d["weight"]))' 5-15 || bad "replica $n has the other session's change"
done

# ---- bad input: the admin API's errors ----
# compare ARGS...: the same `route set` through replica A and through the database; both
# exit 1 with one message.
compare() {
    swr route set support-agent "$@" --router "$A_URL"
    local r_rc=$rc r_msg=${out#*: the router answered }
    swr route set support-agent "$@" --store "$DB"
    local s_msg=${out#*: the database store refused it, }
    expect_eq "$r_rc-$rc" "1-1" "route set $* is refused both ways"
    expect_eq "$s_msg" "$r_msg" "with the same error: $s_msg"
}
compare --stable v9
compare --candidate v9 --weight 50
compare --shadow v9 --shadow-percent 5
compare --on-change sometimes
compare --weight 10.005
echo '[{"name": "beta", "version": "v7", "header": "x-beta", "op": "eq", "value": "1"}]' >"$T/rules.json"
compare --rules-file "$T/rules.json"
expect_eq "$(db_version)" 5 "bad input wrote nothing"
swr route set nobody --weight 5 --store "$DB"
expect_rc 1 "an agent without a route"
expect_out "agent 'nobody' has no route in the database" "is refused: a router makes an agent's first route"
swr route rollback support-agent --sessions sometimes --store "$DB"
expect_rc 1 "a bad session policy"
expect_out "'sessions' must be drain" "gets the admin API's message"
swr route set support-agent --add-version v3=http://127.0.0.1:$v2_PORT/v1 --store "$DB"
expect_rc 0 "a new service version with its URL"
for n in A B C D; do
    wait_route $n '"v3" in d["versions"]' True && ok "replica $n has v3" || bad "replica $n has v3"
done

# ---- where the routes are ----
swr route pin support-agent s-1 v1 --store "$DB"
expect_rc 2 "route pin --store is refused"
expect_out "'pin' goes through a router" "saying why"
swr routes --store "$T/state"
expect_rc 2 "a folder --store is refused"
expect_out "is a folder store, which holds no running router's routes" "saying why"
expect_out "--router URL" "and what to give"
swr routes --store "$DB" --router "$A_URL"
expect_rc 2 "--store and --router together are refused"
expect_out "give --router or --store, not both" "saying so"

# ---- the database down ----
before=$(db_version)
pg_pause
swr route set support-agent --weight 5 --store "$DB"
expect_rc 1 "a change with the database down fails"
expect_out "cannot reach the database" "saying the database cannot be reached"
swr routes --store "$DB"
expect_rc 1 "routes --store with the database down fails"
pg_resume || bad "the database restarts"
expect_eq "$(db_version)" "$before" "nothing was written"
stop_replicas A B C D
finish
