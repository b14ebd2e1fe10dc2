#!/usr/bin/env bash
# Events (POST /v1/events) on router replicas sharing PostgreSQL, for sessions another replica
# pinned: attributed to that replica's version, also when the pin's write is still under way
# (an event's session made a request, so a read that finds no pin is made again until the read's
# timeout); 404 for a session nobody pinned; 503 while the database is unreachable and the
# receiving replica has no pin (the event can be sent again), and attributed once it is back.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
pg_router_start
start_cluster A
# B waits up to 5 s for a read: a loaded machine (valgrind) must not turn the wait below into a
# timeout.
two_versions_config "$T/patient.yaml" "store: $DB
sessions: {shared_read_timeout_ms: 5000}"
start_replica B "$T/patient.yaml"
event() { post /v1/events "$1"; }

on A chat ev-1 "hello"
expect_eq "$status" 200 "a conversation begins on A"
on B event '{"agent": "support-agent", "type": "task", "session": "ev-1", "outcome": "completed"}'
expect_eq "$status/$(jget 'd["events"][0]["version"]')" "202/v1" "its event on B at once is attributed to A's version"

# A pin whose write is under way: its row is inserted in a transaction that commits only after
# the event reached B, so B's first read finds nothing.
coproc PSQL { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -Atq 2>&1; }
now=$(date +%s%3N)
echo "BEGIN; INSERT INTO slipway.pins (agent, session, version, reason, created_ms, last_ms, expires_ms) VALUES ('support-agent', 'ev-late', 'v2', 'split', $now, $now, $((now + 600000))); SELECT 'inserted';" >&"${PSQL[1]}"
read -r -t 20 line <&"${PSQL[0]}"
expect_eq "$line" inserted "a pin row written, not yet committed"
curl -s --max-time 30 -o "$T/late.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"agent": "support-agent", "type": "task", "session": "ev-late", "outcome": "completed"}' \
    "$B_URL/v1/events" >"$T/late.status" &
late=$!
wait_until 20 bash -c "[ \"\$(curl -s '$B_URL/metrics' | grep -c '^slipway_shared_pin_reads_waiting 1')\" = 1 ]" &&
    ok "B's read of it waits" || bad "B's read does not wait"
echo "COMMIT; SELECT 'committed';" >&"${PSQL[1]}"
read -r -t 20 line <&"${PSQL[0]}"
expect_eq "$line" committed "the row committed"
wait "$late"
body=$(cat "$T/late.json")
expect_eq "$(cat "$T/late.status")/$(jget 'd["events"][0]["version"]')" "202/v2" "the event is attributed once the row is there"
on B admin GET "/admin/agents/support-agent/pins/ev-late"
expect_eq "$status/$(jget 'd["version"]')" "200/v2" "and B holds the pin"
echo '\q' >&"${PSQL[1]}"
on A event '{"agent": "support-agent", "type": "task", "session": "nobody", "outcome": "completed"}'
expect_eq "$status/$(jget 'd["error"]["code"]')" 404/session_not_found "a session nobody pinned is not found"

# ---- the database away ----
pg_pause
for n in A B; do wait_metric $n slipway_state_backend_up 0 || bad "replica $n sees the database gone"; done
on A chat ev-down "hello"
expect_eq "$status" 200 "a conversation begins on A while the database is down"
down_version=$version
on B event '{"agent": "support-agent", "type": "task", "session": "ev-down", "outcome": "completed"}'
expect_eq "$status/$(jget 'd["error"]["code"]')" 503/state_backend_unavailable "its event on B: 503, to be sent again"
grep -q "send the event again later" <<<"$body" && ok "saying so" || bad "message: $body"
on A event '{"agent": "support-agent", "type": "task", "session": "ev-down", "outcome": "completed"}'
expect_eq "$status" 202 "on A, which holds the pin, it is attributed"
pg_resume || bad "the database restarts"
for n in A B; do wait_metric $n slipway_state_backend_up 1 || bad "replica $n is back"; done
on B event '{"agent": "support-agent", "type": "task", "session": "ev-down", "outcome": "completed"}'
expect_eq "$status/$(jget 'd["events"][0]["version"]')" "202/$down_version" "sent again once it is back, B attributes it to A's version"

stop_replicas A B
finish
