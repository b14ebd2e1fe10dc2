#!/usr/bin/env bash
# The release store on a real PostgreSQL server (tests/fixtures/postgres): `store init`, the
# same ids as the folder store, --store and SLIPWAY_STORE on releases/tag/rollback/run, two
# processes promoting one agent at once (exactly one wins, with a clear conflict), the
# password never printed, and a database that goes away (a clear error, nonzero, nothing
# half-written).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
pg_start || { echo "not ok - the PostgreSQL fixture did not start"; exit 1; }
export SLIPWAY_STORE_CACHE="$T/cache"
export SLIPWAY_USER=ci-bot
URL="$SLIPWAY_TEST_PG_URL"
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$@"; }
# Every output of the test, to check the password never shows.
ALL="$T/all-output"
sw() {
    out=$("$SLIPWAY" "$@" --plugin-path "$SW_TEST_PLUGIN_DIR" 2>&1)
    rc=$?
    printf '%s\n' "$out" >>"$ALL"
}

# ---- schema ----
sw store init --store "$URL"
expect_rc 0 "store init on an empty database"
expect_out "release store ready: $URL (postgres)" "store init names the store and its backend"
sw store init --store "$URL" --json
expect_rc 0 "store init again: nothing to do"
expect_eq "$(field "$out" 'd["backend"]')" "postgres" "store init --json"

sw store init --store "postgresql://slipway:hunter2@127.0.0.1:$PG_PORT/slipway"
expect_rc 2 "a password in the URL is refused"
expect_out "PGPASSWORD" "the refusal says where the password goes"
expect_no_out "hunter2" "the refusal does not echo the password"

# ---- releases: the same ids as the folder store ----
sw releases create "$B" --json --store "$URL"
expect_rc 0 "create a release in the database"
ID1=$(field "$out" 'd["id"]')
sw releases create "$B" --json --store "$T/folder-store"
expect_eq "$(field "$out" 'd["id"]')" "$ID1" "the folder store gives the same content the same id"
export SLIPWAY_STORE="$URL"
sw releases create "$B"
expect_out "release $ID1 of support-agent (already stored: nothing written)" "SLIPWAY_STORE names the store; same content is a no-op"
if [ -e "$SLIPWAY_STATE_DIR/releases" ]; then bad "nothing is written to the state folder's releases"; else ok "nothing is written to the state folder's releases"; fi

sw releases show "${ID1:0:6}" --json
expect_rc 0 "show by a prefix"
expect_eq "$(field "$out" 'd["verified"]')" "True" "the release verifies from the database"
dir=$(field "$out" 'd["dir"]')
case "$dir" in "$SLIPWAY_STORE_CACHE"/*) ok "its folder is in the local cache" ;; *) bad "folder '$dir' is not in the cache" ;; esac
bad_files=0
while IFS=' ' read -r path sha; do
    [ "$(sha256sum "$dir/$path" | cut -d' ' -f1)" == "$sha" ] || bad_files=$((bad_files + 1))
done < <(field "$out" '"\n".join(p + " " + f["sha256"] for p, f in d["manifest"]["files"].items())')
expect_eq "$bad_files" "0" "every cached file has the SHA-256 the manifest records"

echo "Thank the customer." >>"$B/prompts/system.md"
sw releases create "$B" --json
ID2=$(field "$out" 'd["id"]')
[ "$ID2" != "$ID1" ] && ok "a changed prompt is another release" || bad "same id after a change"

# ---- channels, tags, rollback ----
sw releases set support-agent stable "$ID1" --reason "first"
expect_rc 0 "stable := the first release"
sw tag "$ID1" v1
expect_rc 0 "tag it"
sw releases set support-agent stable "$ID2" --expect "$ID1" --reason "second"
expect_rc 0 "stable := the second, compare-and-swap on the first"
sw releases rollback support-agent --reason "bad"
expect_rc 0 "roll back"
sw releases channels support-agent --json
expect_eq "$(field "$out" 'd["stable"]')" "$ID1" "stable is back on the first release"
expect_eq "$(field "$out" 'd["tags"]["v1"]')" "$ID1" "the tag is kept"
expect_eq "$(field "$out" '[h["action"] for h in d["history"]]')" "['set', 'tag', 'set', 'rollback']" "the full history, in order"
expect_eq "$(field "$out" 'd["history"][2]["reason"]')" "second" "with the reasons"
sw releases list support-agent --store "$T/folder-store" --json
expect_eq "$(field "$out" 'len(d)')" "1" "--store on the command line wins over SLIPWAY_STORE"

# ---- two processes promoting the same agent at once: exactly one wins ----
sw releases channels support-agent --json
base=$(field "$out" 'd["stable"]')
for i in 1 2; do
    "$SLIPWAY" releases set support-agent stable "$ID2" --expect "$base" --reason "promoter $i" \
        >"$T/q$i.out" 2>&1 &
    qids[$i]=$!
done
wins=0
conflicts=0
for i in 1 2; do
    wait "${qids[$i]}"
    prc=$?
    cat "$T/q$i.out" >>"$ALL"
    if [ $prc -eq 0 ]; then
        wins=$((wins + 1))
    elif grep -q "it was changed meanwhile by ci-bot" "$T/q$i.out"; then
        conflicts=$((conflicts + 1))
    fi
done
expect_eq "$wins/$conflicts" "1/1" "two concurrent promotions: one wins, the other gets a clear conflict"
sw releases channels support-agent --json
expect_eq "$(field "$out" 'len([h for h in d["history"] if (h.get("reason") or "").startswith("promoter")])')" "1" \
    "exactly one promotion is in the history: no lost or double update"

# ---- a pipeline's versioning stage writes to the store it is given ----
echo "Mention the order number." >>"$B/prompts/system.md"
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
expect_rc 0 "a versioning pipeline on the database store"
rid=$(last_run)
expect_eq "$(json "$(run_dir)/run.json" 'd["store"]')" "$URL" "run.json records the store, for a resume"
sw releases channels support-agent --json
ID3=$(field "$out" 'd["candidate"]')
expect_eq "$(field "$out" 'd["history"][-1]["run_id"]')" "$rid" "the run's candidate change is in the database's history"
sw releases list support-agent --json
expect_eq "$(field "$out" '[r["run_id"] for r in d if r["id"] == "'"$ID3"'"]')" "['$rid']" \
    "the run's release is in the database, with its run id"
if [ -e "$SLIPWAY_STATE_DIR/releases" ]; then bad "the run wrote no release to the state folder"; else ok "the run wrote no release to the state folder"; fi

# ---- the database goes away ----
pg_pause
sw releases list support-agent
expect_rc 1 "with PostgreSQL down, listing fails"
expect_out "cannot reach the database" "with a clear message"
expect_out "127.0.0.1:$PG_PORT" "naming the server"
echo "Also say goodbye." >>"$B/prompts/system.md"
sw releases create "$B"
expect_rc 1 "creating a release fails"
sw releases set support-agent candidate "$ID1"
expect_rc 1 "changing a channel fails"
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
if [ "$rc" -ne 0 ]; then ok "a versioning run fails (exit $rc)"; else bad "a versioning run with the database down exited 0"; fi
# Runs are recorded in the database too: nothing starts that could not be recorded.
expect_out "cannot record the run: release store $URL: cannot reach the database: PostgreSQL, connecting: connection to server at \"127.0.0.1\", port $PG_PORT failed: Connection refused Is the server running" \
    "the run says why, on one line"
pg_resume || bad "the server came back"
sw releases list support-agent --json
expect_rc 0 "the database is back"
expect_eq "$(field "$out" 'len(d)')" "3" "nothing was half-written while it was down"
sw releases channels support-agent --json
expect_eq "$(field "$out" 'd["candidate"]')" "$ID3" "the channel change tried while down is not there"

if grep -qF -- "$PGPASSWORD" "$ALL" "$PG_DIR/server.log" 2>/dev/null; then
    bad "the password shows in an output or the server's log"
else
    ok "the password never shows in any output"
fi
finish
