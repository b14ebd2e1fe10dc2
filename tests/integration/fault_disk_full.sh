#!/usr/bin/env bash
# A full disk under the state folder (a small tmpfs, filled up): `slipway run`,
# the release store and the router's state file fail with an error naming the
# file and ENOSPC; what was written before is intact and parses; a run stopped
# by it resumes to the end once there is room again. Needs root (mount); runs
# in its own mount namespace so nothing outlives it; exit 77 when it cannot mount.
source "$(dirname "$0")/../fixtures/fault/lib.sh"
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
fault_state_tmpfs 3m

fill() { dd if=/dev/zero of="$S/filler" bs=64k status=none 2>/dev/null || true; }
parses() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }
# sums: a checksum of every file of the store and of one run folder, to compare later.
sums() { (cd "$S" && find releases "runs/$1" -type f -print0 | sort -z | xargs -0 sha256sum); }
ENOSPC="No space left on device"

# ---- before: a release and a finished run ----
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
expect_rc 0 "a run with room to spare"
R1=$(last_run)
before=$(sums "$R1")
releases_before=$("$SLIPWAY" releases list --json 2>&1)

# The router, its state file in the same folder.
start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 10}'
expect_eq "$status" 200 "the router saves a route change"

# ---- a run that fills the disk half-way ----
"$SLIPWAY" run "$PIPES/long.yaml" --set "vars.log=$T/long.log" --set vars.pause=400ms \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/long.out" 2>&1 &
pid=$!
lines() { cat "$1" 2>/dev/null | wc -l; }
for _ in $(seq 1 200); do [ "$(lines "$T/long.log")" -ge 2 ] && break; sleep 0.05; done
fill
wait $pid
rc=$?
out=$(cat "$T/long.out")
R2=$(last_run)
expect_rc 3 "a run whose checkpoint cannot be written stops as interrupted"
expect_out "runs/$R2/context.json" "the error names the checkpoint file"
expect_out "$ENOSPC" "the error says the disk is full"
expect_out "slipway resume $R2" "says how to continue"
if parses "$S/runs/$R2/context.json"; then ok "the last checkpoint written is intact"; else bad "context.json of $R2 does not parse"; fi
sw runs show "$R2"
expect_rc 0 "the stopped run can be shown"
stopped_at=$(wc -l <"$T/long.log")
if [ "$stopped_at" -lt 5 ]; then ok "no stage ran after the checkpoint failed ($stopped_at of 5)"; else bad "every stage ran on a full disk"; fi

# ---- while full ----
n_runs=$(ls "$S/runs" | wc -l)
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
expect_rc 2 "a new run on a full disk: nothing runs"
expect_out "cannot create the run folder" "says what failed"
expect_out "$ENOSPC" "and why"
expect_eq "$(ls "$S/runs" | wc -l)" "$n_runs" "no half-made run folder is left"

echo "one more line" >>"$B/prompts/system.md"
sw releases create "$B"
expect_rc 1 "a new release on a full disk fails"
expect_out "$ENOSPC" "the store's error says the disk is full"
expect_out "$S/releases/support-agent/" "and names a file in the store"
expect_eq "$(find "$S/releases" -name '.tmp*' | wc -l)" "0" "no temporary folder or file is left in the store"
expect_eq "$("$SLIPWAY" releases list --json 2>&1)" "$releases_before" "the release list is unchanged"
sw releases set support-agent stable "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["id"])' "$releases_before")"
expect_rc 1 "a channel change on a full disk fails"
expect_out "$ENOSPC" "the channel change's error says the disk is full"

admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 50}'
expect_eq "$status" 500 "a route change the router cannot save is refused"
if grep -qF "$ENOSPC" <<<"$body"; then ok "the router's error says the disk is full"; else bad "router error: $body"; fi
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'int(d["weight"])')" "10" "the router kept the route it had saved"
if parses "$S/router.json"; then ok "the router's state file is intact"; else bad "router.json does not parse"; fi

expect_eq "$(sums "$R1")" "$before" "the finished run and the store are byte for byte as before"

# ---- room again ----
rm -f "$S/filler"
admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 50}'
expect_eq "$status" 200 "with room again the router saves"
router_done
sw resume "$R2"
expect_rc 0 "with room again the stopped run resumes to the end"
expect_eq "$(json "$S/runs/$R2/report.json" 'd["status"]')" "succeeded" "its report says succeeded"
for s in s1 s2 s3 s4 s5; do grep -qx "$s" "$T/long.log" || bad "stage $s never ran"; done
sw releases create "$B"
expect_rc 0 "and a new release is stored"
finish
