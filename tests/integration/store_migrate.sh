#!/usr/bin/env bash
# `slipway store migrate` on a real PostgreSQL server (tests/fixtures/postgres): a folder store
# built with the CLI (releases, a tag, a promotion, a run, a rollback) copied into the database;
# `releases`, the channels' history, `runs show` and `rollback` then answer the same from the
# database; a second migrate copies nothing and says so, a later one copies only what is new;
# a database whose history is another is refused with nothing copied; a damaged file in the
# folder fails the migrate naming it, with nothing copied; a password in the URL is refused
# without being printed.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
pg_start || { echo "not ok - the PostgreSQL fixture did not start"; exit 1; }
unset SLIPWAY_STORE
export SLIPWAY_STORE_CACHE="$T/cache"
export SLIPWAY_USER=ci-bot
URL="$SLIPWAY_TEST_PG_URL"
F="$T/folder" G="$T/elsewhere"
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$@"; }
# same A B: the two JSON texts are equal (history entries compared without their time).
same() {
    python3 - "$1" "$2" <<'PY'
import json, sys
def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k != "at"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v
a, b = (norm(json.loads(t)) for t in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
}
psql_q() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -tAc "$1"; }

# ---- a folder store, built with the CLI ----
sw releases create "$B" --json --state-dir "$F"
expect_rc 0 "a release in the folder"
ID1=$(field "$out" 'd["id"]')
sw releases set support-agent stable "$ID1" --reason first --state-dir "$F"
sw tag "$ID1" v1 --state-dir "$F"
expect_rc 0 "a tag"
echo "Thank the customer." >>"$B/prompts/system.md"
sw releases create "$B" --json --state-dir "$F"
ID2=$(field "$out" 'd["id"]')
sw releases set support-agent stable "$ID2" --expect "$ID1" --reason promote --state-dir "$F"
expect_rc 0 "a promotion"
echo "Be brief." >>"$B/prompts/system.md"
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B" --state-dir "$F"
expect_rc 0 "a run making the candidate"
RUN=$(ls -1 "$F/runs" | sort | tail -n 1)
sw rollback support-agent --no-router --to "$ID1" --state-dir "$F" --json
expect_rc 0 "a rollback to the first release"
sw releases list support-agent --state-dir "$F" --json
LIST_F=$out
sw releases channels support-agent --state-dir "$F" --json
CH_F=$out
expect_eq "$(field "$CH_F" '(d["stable"], d["candidate"], len(d["history"]))')" "('$ID1', None, 6)" "the folder: stable back on the first, no candidate, six changes"
sw runs show "$RUN" --state-dir "$F" --json
RUNS_F=$out

# ---- bad usage, a password ----
sw store migrate --to "$URL"
expect_rc 2 "migrate without --from"
sw store migrate --from "$F" --to "$T/another-folder"
expect_rc 2 "migrate into a folder"
expect_out "postgres:// URL" "it says what --to must be"
sw store migrate --from "$T/nowhere" --to "$URL"
expect_rc 2 "migrate from a folder that is no state folder"
expect_out "is not a state folder" "it says so"
sw store migrate --from "$F" --to "postgresql://slipway:hunter2@127.0.0.1:$PG_PORT/slipway"
expect_rc 2 "a password in the URL is refused"
expect_no_out "hunter2" "the refusal does not print the password"

# ---- the migration ----
expect_eq "$(psql_q "SELECT count(*) FROM pg_tables WHERE schemaname = 'slipway'")" "0" "the database is empty before"
sw store migrate --from "$F" --to "$URL"
expect_rc 0 "migrate the folder into the database"
expect_out "migrated $F into $URL" "it names both"
expect_out "releases: 3 copied, 0 already there" "three releases copied"
expect_out "6 history entries and 1 tag(s) copied" "the whole history and the tag"
expect_out "runs:     1 copied" "the run"
expect_no_out "$PGPASSWORD" "the password is never printed"
export SLIPWAY_STORE="$URL"
sw releases list support-agent --state-dir "$G" --json
if same "$out" "$LIST_F"; then ok "releases list: the same from the database"; else bad "releases list differs from the folder's"; fi
sw releases channels support-agent --state-dir "$G" --json
CH_DB=$out
if same "$out" "$CH_F" && [ "$(field "$out" '[e["at"] for e in d["history"]]')" == "$(field "$CH_F" '[e["at"] for e in d["history"]]')" ]; then
    ok "the channels and their whole history: the same from the database"
else bad "the channels differ from the folder's"; fi
for id in "$ID1" "$ID2"; do
    sw releases show "$id" --state-dir "$G" --json
    expect_eq "$(field "$out" 'd["verified"]')" "True" "release $id verifies from the database"
done
sw releases show support-agent:v1 --state-dir "$G" --json
expect_eq "$(field "$out" 'd["manifest"]["id"]')" "$ID1" "the tag resolves from the database"
sw runs show "$RUN" --state-dir "$G" --json
expect_rc 0 "runs show from a fresh state folder"
if same "$out" "$RUNS_F"; then ok "runs show: the same from the database"; else bad "runs show differs from the folder's"; fi
expect_eq "$(psql_q "SELECT count(*) FROM slipway.run_events WHERE run_id = '$RUN'")" "$(wc -l <"$F/runs/$RUN/journal.jsonl")" "every journal line of the run is in the database"
sw runs --state-dir "$G" --json
expect_eq "$(field "$out" '[r["run_id"] for r in d]')" "['$RUN']" "runs lists it"

# ---- again: nothing new; then only what is new ----
unset SLIPWAY_STORE
sw store migrate --from "$F" --to "$URL"
expect_rc 0 "migrate again"
expect_out "nothing new to copy: $URL already holds everything of $F" "it copies nothing and says so"
expect_out "releases: 0 copied, 3 already there" "no release copied again"
expect_out "runs:     0 copied, 1 already there" "no run copied again"
sw tag "$ID2" v2 --state-dir "$F"
sw store migrate --from "$F" --to "$URL" --json
expect_rc 0 "migrate after a new tag"
expect_eq "$(field "$out" '(d["releases"]["copied"], d["channels"]["history_copied"], d["channels"]["tags_copied"], d["runs"]["copied"])')" "(0, 1, 1, 0)" "only the new tag and its history entry"
# A second run in the folder (it makes the candidate again): only it and its history entry.
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B" --state-dir "$F"
expect_rc 0 "a second run in the folder"
RUN2=$(ls -1 "$F/runs" | sort | tail -n 1)
# ---- the database gone: a clear error, nothing half-written; then the same migrate finishes ----
pg_pause
sw store migrate --from "$F" --to "$URL"
expect_rc 1 "migrate while the database is down"
expect_out "cannot reach the database" "says it cannot reach the database"
pg_resume
sw store migrate --from "$F" --to "$URL" --json
expect_rc 0 "migrate once it is back"
expect_eq "$(field "$out" '(d["releases"]["copied"], d["channels"]["history_copied"], d["channels"]["tags_copied"], d["runs"]["copied"], d["runs"]["present"])')" "(0, 1, 0, 1, 1)" "the new run and its candidate entry, nothing else"
sw runs show "$RUN2" --state-dir "$G" --store "$URL" --json
expect_eq "$(field "$out" 'd["status"]')" "succeeded" "the second run shows from the database"

# ---- rollback: the same answer from both ----
sw rollback support-agent --no-router --to v2 --state-dir "$F" --json
expect_rc 0 "rollback on the folder"
RB_F=$out
sw rollback support-agent --no-router --to v2 --state-dir "$G" --store "$URL" --json
expect_rc 0 "rollback on the database"
if same "$out" "$RB_F"; then ok "rollback: the same answer ($(field "$out" 'd["store"]'))"; else bad "rollback differs: $RB_F"; fi
expect_eq "$(field "$out" '(d["store"]["from"], d["store"]["to"])')" "('$ID1', '$ID2')" "stable from the first release to v2, on both"

# ---- a database with another history: refused, nothing copied ----
sw releases channels support-agent --store "$URL" --json
before=$out
echo "Say goodbye." >>"$B/prompts/system.md"
sw releases create "$B" --json --state-dir "$F"
ID4=$(field "$out" 'd["id"]')
sw store migrate --from "$F" --to "$URL"
expect_rc 1 "migrate onto a database whose history is another"
printf "    # %s\n" "$out"
expect_out "already has another channel history: entry 9" "the refusal names the entry"
expect_out "nothing was copied" "and says nothing was copied"
sw releases channels support-agent --store "$URL" --json
if same "$out" "$before"; then ok "the database's channels are unchanged"; else bad "the channels changed"; fi
expect_eq "$(psql_q "SELECT count(*) FROM slipway.releases WHERE id = '$ID4'")" "0" "the new release was not copied either"

# ---- a damaged file in the folder: named, nothing copied ----
D="$T/damaged"
echo "Never guess." >>"$B/prompts/system.md"
sw releases create "$B" --json --state-dir "$D"
ID5=$(field "$out" 'd["id"]')
echo "tampered" >>"$D/releases/support-agent/$ID5/prompts/system.md"
sw store migrate --from "$D" --to "$URL"
expect_rc 1 "migrate a folder with a damaged file"
expect_out "$D/releases/support-agent/$ID5 is damaged" "the error names the release's folder"
expect_out "prompts/system.md has SHA-256" "and the damaged file"
expect_eq "$(psql_q "SELECT count(*) FROM slipway.releases WHERE id = '$ID5'")" "0" "nothing of it was copied"

finish
