#!/usr/bin/env bash
# A replica reads a session another replica pinned from the shared pins without holding up its
# event loop: the request waits, not the loop. With the database frozen (SIGSTOP: it accepts
# connections and answers nothing), requests of sessions the replica knows are answered at
# once, a new session's request is answered after the read's timeout as a fresh assignment
# (logged once, counted), events of unknown sessions are refused, and once the database runs
# again reads find pins again. A replica stopped while a request waits for its read answers it
# (503) and exits 0.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/cluster.sh"
pg_router_start

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=50 two_versions_config "$T/router.yaml" "store: $DB"

reads() { metric "slipway_shared_pin_reads_total{result=\"$1\"}"; }
# The bound of every request below: far above the read's timeout (500 ms), far below a hang.
MAX=(--max-time 5)

start_replica A
start_replica B
URL=$A_URL
declare -A first
for i in $(seq 1 12); do
    chat "conv-$i" "turn one"
    first[$i]=$version
done
expect_eq "$(wait_pins 'conv-%' 12)" 12 "A's pins are written behind to the database"

# ---- the database answers: B finds A's pins ----
URL=$B_URL
chat conv-1 "turn two"
expect_eq "$version/$(hdr x-slipway-assignment)" "${first[1]}/pin" "B continues A's conversation on its version"
expect_eq "$(reads found)" 1 "one read found it"
# Concurrent first turns of one conversation on B: one read for all of them.
for k in 1 2 3 4 5; do
    curl -s "${MAX[@]}" -o /dev/null -D "$T/c$k.h" -H 'Content-Type: application/json' \
        -H 'x-slipway-session: conv-2' \
        -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
        "$B_URL/v1/chat/completions" &
    waits[$k]=$!
done
same=0
for k in 1 2 3 4 5; do
    wait "${waits[$k]}"
    [ "$(grep -i '^x-slipway-version:' "$T/c$k.h" | cut -d' ' -f2 | tr -d '\r')" == "${first[2]}" ] && same=$((same + 1))
done
expect_eq "$same" 5 "five concurrent turns of A's conversation on B all keep its version"
expect_eq "$(reads found)" 2 "with one read between them"
chat fresh-0 "hello"
expect_eq "$(hdr x-slipway-assignment)" split "a conversation no replica has is assigned by the split"
expect_eq "$(reads absent)" 1 "after a read that found nothing"
chat known-b "turn one"
known_version=$version

# ---- the database frozen ----
pg_freeze
chat known-b "turn two" "" "${MAX[@]}"
expect_eq "$status/$version" "200/$known_version" "a conversation B knows is answered while the database is frozen"
chat fresh-1 "hello" "" "${MAX[@]}"
expect_eq "$status/$(hdr x-slipway-assignment)" 200/split "a new conversation is answered after the read's timeout, assigned afresh"
expect_eq "$(reads late)" 1 "the read given up is counted"
# Several at once, and requests that need no read keep being answered meanwhile.
for k in 1 2 3 4; do
    curl -s "${MAX[@]}" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "x-slipway-session: fresh-many-$k" \
        -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
        "$B_URL/v1/chat/completions" >"$T/m$k.code" &
    waits[$k]=$!
done
answered=0
for k in 1 2 3; do
    chat known-b "turn $k" "" "${MAX[@]}"
    [ "$status" == 200 ] && answered=$((answered + 1))
done
expect_eq "$answered" 3 "a known conversation's turns are answered while new ones wait"
for k in 1 2 3 4; do wait "${waits[$k]}"; done
expect_eq "$(cat "$T"/m[1-4].code | tr -d '\n')" 200200200200 "the four new conversations are all answered"
body=$(curl -s "${MAX[@]}" -H 'Content-Type: application/json' \
    -d '{"agent": "support-agent", "session": "conv-3", "type": "task", "outcome": "completed"}' \
    "$B_URL/v1/events" -w '\n%{http_code}')
status=${body##*$'\n'}
body=${body%$'\n'*}
expect_eq "$status" 404 "an event of a conversation only A knows is answered (not attributed) while the database is frozen"
curl -s "${MAX[@]}" -o /dev/null "$B_URL/healthz" && ok "/healthz answers" || bad "/healthz answers"
n=$(grep -c "did not answer a read of the shared pins" "$T/B.log")
expect_eq "$n" 1 "the late reads are logged once"

# ---- the database runs again: reads find pins again ----
pg_thaw
found=""
for i in $(seq 4 12); do
    chat "conv-$i" "turn two" "" "${MAX[@]}"
    if [ "$(hdr x-slipway-assignment)" == pin ]; then
        found="$version/${first[$i]}"
        break
    fi
    sleep 0.5
done
[ -n "$found" ] && [ "${found%/*}" == "${found#*/}" ] && ok "once the database runs again, B finds A's pins again" || bad "no pin found after the thaw ($found)"

# ---- stopping while a request waits for a read ----
# Replica C waits for reads far longer than the test: its request is still waiting at the stop.
WEIGHT=50 two_versions_config "$T/slow.yaml" "store: $DB
sessions: {shared_read_timeout_ms: 60000}"
start_replica C "$T/slow.yaml"
pg_freeze
curl -s --max-time 20 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'x-slipway-session: at-stop' \
    -d '{"model": "support-agent", "messages": [{"role": "user", "content": "hi"}]}' \
    "$C_URL/v1/chat/completions" >"$T/stop.code" &
cpid=$!
waiting=0
for i in $(seq 1 400); do
    [ "$(on C metric slipway_shared_pin_reads_waiting)" == 1 ] && { waiting=1; break; }
    sleep 0.05
done
expect_eq "$waiting" 1 "C's request waits for its read"
kill -TERM "$C_PID"
wait "$cpid"
expect_eq "$(cat "$T/stop.code")" 503 "a request waiting for its read is answered 503 when the replica stops"
wait "$C_PID"
expect_eq "$?" 0 "replica C exits 0 on SIGTERM with the database frozen"
pg_thaw
stop_replicas A B
finish
