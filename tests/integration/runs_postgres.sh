#!/usr/bin/env bash
# Runs on a real PostgreSQL server (tests/fixtures/postgres): a run's record written through
# to the database, `runs` and `runs show` from another machine (a fresh state folder),
# kill -9 mid-stage then `resume` from another state folder while a concurrent second
# resume is refused by the lease (naming its holder), an expired lease taken over, and a
# database that goes away mid-run (exit 3, resumable; never 0).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
pg_start || { echo "not ok - the PostgreSQL fixture did not start"; exit 1; }
export SLIPWAY_STORE="$SLIPWAY_TEST_PG_URL"
export SLIPWAY_STORE_CACHE="$T/cache"
export SLIPWAY_RUN_LEASE_MS=3000
A="$T/machine-a" B="$T/machine-b" C="$T/machine-c"
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$@"; }
newest() { ls -1 "$1/runs" | sort | tail -n 1; }
# wait_lease_free ID: until nobody holds the run's lease (a dead runner's expires).
wait_lease_free() {
    for _ in $(seq 1 200); do
        [ "$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -tAc \
            "SELECT count(*) FROM slipway.run_leases WHERE run_id = '$1' AND expires_at > now()")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- a run written through; listed and shown from another machine ----
sw run "$PIPES/long.yaml" --state-dir "$A" --set vars.pause=10ms
expect_rc 0 "a run on the database store"
id=$(newest "$A")
sw runs --state-dir "$B" --json
expect_rc 0 "runs from a fresh state folder"
expect_eq "$(field "$out" '[r["run_id"] for r in d if r["status"] == "succeeded"]')" "['$id']" "the run is listed on another machine, succeeded"
sw runs show "$id" --state-dir "$B" --json
expect_rc 0 "runs show from a fresh state folder"
expect_eq "$(field "$out" '[s["state"] for s in d["stages"]]')" "['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']" "its stages, from the database"
expect_eq "$(field "$out" 'len(d["timeline"]) > 0')" "True" "its report with its timeline"
n=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -tAc \
    "SELECT count(*) FROM slipway.run_events WHERE run_id = '$id'")
expect_eq "$n" "$(wc -l <"$A/runs/$id/journal.jsonl")" "every journal line is in the database"
names=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -tAc \
    "SELECT string_agg(name, ' ' ORDER BY name) FROM slipway.run_files WHERE run_id = '$id'")
expect_eq "$names" "context.json pipeline.yaml report.html report.json run.json" "the snapshot, checkpoint and reports are in the database"
sw runs show 20990101-000000-000-abcdef --state-dir "$B"
expect_rc 2 "an unknown run"
expect_out "or in postgresql://" "the error names both places"
[ -d "$B/runs" ] && bad "showing from the database writes no run folder" || ok "showing from the database writes no run folder"

# ---- kill -9 mid-stage on A, resume on B, a second resume on C refused ----
"$SLIPWAY" run "$PIPES/long.yaml" --state-dir "$A" --set "vars.log=$T/a.log" --set vars.pause=2s \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/a.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ "$(wc -l <"$T/a.log" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null
id=$(newest "$A")
sw resume "$id" --state-dir "$B"
expect_rc 2 "resume while the killed runner's lease has not expired"
expect_out "is being run by $(hostname) pid $pid" "the refusal names the holder"
expect_out "its lease expires at" "and when its lease expires"
# The lease of a kill -9'd runner expires: wait for it, then B takes the run.
wait_lease_free "$id" || bad "the killed runner's lease expires"
"$SLIPWAY" resume "$id" --state-dir "$B" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/b.out" 2>&1 &
bpid=$!
for _ in $(seq 1 600); do [ -f "$B/runs/$id/context.json" ] && break; sleep 0.05; done
sw resume "$id" --state-dir "$C"
expect_rc 2 "a second, concurrent resume is refused"
expect_out "is being run by $(hostname) pid $bpid" "naming the resuming process"
wait $bpid
rc=$?
out=$(cat "$T/b.out")
expect_rc 0 "the resume on another state folder finishes the run"
expect_eq "$(field "$(cat "$B/runs/$id/report.json")" 'd["resumed"]')" "True" "its report says resumed"
expect_eq "$(sort -u "$T/a.log" | tr '\n' ' ')" "s1 s2 s3 s4 s5 " "stages s1..s5 ran (the killed stage again on B)"
sw runs show "$id" --state-dir "$C" --json
expect_eq "$(field "$out" 'd["status"]')" "succeeded" "a third machine sees it succeeded"
sw resume "$id" --state-dir "$C"
expect_rc 2 "a finished run is not resumed again, from anywhere"

# ---- the database goes away mid-run: exit 3, then resume ----
"$SLIPWAY" run "$PIPES/long.yaml" --state-dir "$A" --set "vars.log=$T/d.log" --set vars.pause=1s \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/d.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do [ "$(wc -l <"$T/d.log" 2>/dev/null || echo 0)" -ge 1 ] && break; sleep 0.05; done
pg_pause
wait $pid
rc=$?
out=$(cat "$T/d.out")
expect_rc 3 "a run that cannot record its progress stops as resumable"
expect_out "not recorded in postgresql://" "naming the database"
pg_resume
id=$(newest "$A")
wait_lease_free "$id" || bad "the stopped runner's lease (not given up: no database) expires"
sw resume "$id" --state-dir "$A"
expect_rc 0 "once the database is back, the run resumes"
sw runs show "$id" --state-dir "$C" --json
expect_eq "$(field "$out" 'd["status"]')" "succeeded" "and the database has all of it"
finish
