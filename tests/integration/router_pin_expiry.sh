#!/usr/bin/env bash
# Shared pins expire in the database too: two replicas on one PostgreSQL store, A with a session
# TTL of 8 s (more than a loaded machine takes to set up the rows it checks) and B with an hour. A's idle sessions' rows are deleted (in batches, under the sweep
# lock, skipping a row someone holds, while the listener keeps applying route changes); B's rows,
# a row both wrote, and a row that never expires stay. After its row is gone an idle session is
# assigned afresh on B, which would otherwise have kept A's old pin.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
pg_router_start

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=50 two_versions_config "$T/a.yaml" "store: $DB
sessions: {ttl_s: 8}"
WEIGHT=50 two_versions_config "$T/b.yaml" "store: $DB
sessions: {ttl_s: 3600}"
# A sweep about every 300 ms instead of every minute.
export SLIPWAY_PIN_SWEEP_MS=300

# wait_sql SQL WANT [TRIES]: poll (every 50 ms, 600 times unless told) until SQL answers WANT;
# echo the last answer.
wait_sql() {
    local i got=""
    for i in $(seq 1 "${3:-600}"); do
        got=$(psql_db "$1")
        [ "$got" == "$2" ] && break
        sleep 0.05
    done
    echo "$got"
}
count() { psql_db "SELECT count(*) FROM slipway.pins WHERE session LIKE '$1'"; }

start_replica A "$T/a.yaml"
start_replica B "$T/b.yaml"

# A session is written with its replica's TTL.
declare -A first
for i in $(seq 1 8); do
    on A chat "idle-$i" "hello"
    first[$i]=$version
done
for i in $(seq 1 4); do on B chat "long-$i" "hello"; done
on B chat both-1 "hello"
expect_eq "$(wait_sql "SELECT count(*) FROM slipway.pins" 13)" 13 "both replicas' pins are written behind"
expect_eq "$(count 'idle-%')/$(psql_db "SELECT count(*) FROM slipway.pins WHERE session LIKE 'idle-%' AND expires_ms = last_ms + 8000")" \
    8/8 "A's rows expire 8 s after their last use"
expect_eq "$(psql_db "SELECT count(*) FROM slipway.pins WHERE session LIKE 'long-%' AND expires_ms = last_ms + 3600000")" \
    4 "B's rows expire an hour after theirs"
# A row both wrote lives as long as the longer: A's override of B's pin keeps B's expiry.
on A admin PUT /admin/agents/support-agent/pins/both-1 '{"version": "v1"}'
expect_eq "$status" 200 "A overrides the pin B made"
expect_eq "$(wait_sql "SELECT reason || ' ' || (expires_ms - last_ms > 3000000) FROM slipway.pins WHERE session = 'both-1'" "override true")" \
    "override true" "the row has A's override and still B's expiry"
psql_db "INSERT INTO slipway.pins (agent, session, version, reason, created_ms, last_ms, expires_ms)
         VALUES ('support-agent', 'never-1', 'v1', 'split', 0, 0, NULL)" >/dev/null

# ---- the sweep lock: while another session holds it, no replica deletes ----
mkfifo "$T/sql.fifo"
PGAPPNAME=sweep-holder "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -qAt <"$T/sql.fifo" >"$T/holder.out" 2>&1 &
HOLDER=$!
PIDS+=($HOLDER)
exec 3>"$T/sql.fifo"
echo "SELECT pg_advisory_lock(7302158232);" >&3
# A bigint key shows in pg_locks as its high (classid) and low (objid) 32 bits.
lock_held="SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
           WHERE a.application_name = 'sweep-holder' AND l.locktype = 'advisory' AND l.granted
           AND l.classid::bigint = 7302158232 >> 32 AND l.objid::bigint = 7302158232 & 4294967295"
expect_eq "$(wait_sql "$lock_held" 1)" 1 "a session outside the replicas holds the sweep lock"
# 3500 rows long expired, written the way the replicas write them.
psql_db "INSERT INTO slipway.pins (agent, session, version, reason, created_ms, last_ms, expires_ms)
         SELECT 'support-agent', 'bulk-' || g, 'v1', 'split', 1000, 1000, 2000
         FROM generate_series(1, 3500) g" >/dev/null
sleep 1.5 # five sweep intervals: nothing may go meanwhile (a slow machine only sweeps fewer)
expect_eq "$(count 'bulk-%')" 3500 "expired rows stay while the sweep lock is held elsewhere"

# ---- a row being written is skipped, not waited for, and the listener keeps working ----
echo "BEGIN; SELECT 1 FROM slipway.pins WHERE session = 'bulk-1' FOR UPDATE; SELECT pg_advisory_unlock(7302158232);" >&3
expect_eq "$(wait_sql "$lock_held" 0)" 0 "the sweep lock is released"
expect_eq "$(wait_sql "SELECT count(*) FROM slipway.pins WHERE session LIKE 'bulk-%'" 1)" 1 \
    "3499 expired rows are deleted around the one locked row"
expect_eq "$(wait_sql "SELECT count(*) FROM slipway.pins WHERE session LIKE 'idle-%'" 0)" 0 \
    "the rows of A's idle sessions are deleted"
on A admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 0}'
expect_eq "$status" 200 "weight 0 through A while the row is still locked"
wait_route B 'int(d["weight"])' 0 && ok "B's listener applies the change meanwhile" ||
    bad "B's listener applies the change meanwhile"
echo "COMMIT;" >&3
expect_eq "$(wait_sql "SELECT count(*) FROM slipway.pins WHERE session LIKE 'bulk-%'" 0)" 0 \
    "the last one goes once it is free"
exec 3>&-
wait "$HOLDER"

# ---- what stays ----
expect_eq "$(count 'long-%')" 4 "B's live rows stay"
expect_eq "$(count 'both-1')" 1 "the row B's TTL still covers stays"
expect_eq "$(count 'never-1')" 1 "a row without an expiry (TTL 0) stays"
swept=$(($(on A metric slipway_shared_pins_expired_total) + $(on B metric slipway_shared_pins_expired_total)))
expect_eq "$swept" 3508 "the replicas count the 3508 rows they deleted (slipway_shared_pins_expired_total)"
grep -qi "error" "$T/holder.out" && bad "the lock holder's session: $(cat "$T/holder.out")"

# An idle session's next turn on B: its row gone, B assigns it afresh (stable at weight 0)
# instead of keeping the pin A has forgotten.
moved=0
for i in $(seq 1 8); do
    on B chat "idle-$i" "back"
    [ "$version/$(hdr x-slipway-assignment)" == v1/split ] && moved=$((moved + 1))
done
expect_eq "$moved" 8 "every idle session is assigned afresh on B"

stop_replicas A B
finish
