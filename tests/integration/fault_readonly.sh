#!/usr/bin/env bash
# A read-only state folder (a tmpfs remounted read-only: root ignores mode
# bits): every command that writes fails with an error naming the file and
# EROFS and an exit code that says whether anything ran; nothing is
# half-written; what only reads still works; once writable again an
# interrupted run resumes. Needs root (mount); exit 77 when it cannot mount.
source "$(dirname "$0")/../fixtures/fault/lib.sh"
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
fault_state_tmpfs 8m
EROFS="Read-only file system"
tree_sum() { (cd "$S" && find . -print0 | sort -z | xargs -0 ls -ld --time-style=+%s%N | awk '{print $1, $5, $6, $7}' | sha256sum); }

# ---- while writable: a release, a finished run, an interrupted run, the router ----
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
expect_rc 0 "a run while writable"
R1=$(last_run)
"$SLIPWAY" run "$PIPES/long.yaml" --set "vars.log=$T/long.log" --set vars.pause=400ms \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ "$(cat "$T/long.log" 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
expect_rc 3 "an interrupted run"
R2=$(last_run)
start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 10}'
expect_eq "$status" 200 "the router saves while writable"

mount -o remount,ro "$S" || { echo "skip: cannot remount read-only"; exit 77; }
before=$(tree_sum)

# ---- read-only ----
sw run "$PIPES/versioning.yaml" --set "vars.bundle=$B"
expect_rc 2 "a new run: nothing ran"
expect_out "cannot create the run folder" "says what failed"
expect_out "$EROFS" "and why"
expect_out "$S/runs/" "and where"

sw resume "$R2"
expect_rc 2 "resuming on a read-only folder: nothing ran"
expect_out "$EROFS" "says why"
expect_out "runs/$R2/" "names the run's file"

echo "one more line" >>"$B/prompts/system.md"
sw releases create "$B"
expect_rc 1 "a new release fails"
expect_out "$EROFS" "the store's error says the folder is read-only"
sw releases set support-agent stable none
expect_rc 1 "a channel change fails"
expect_out "$EROFS" "the channel change says why"

admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 50}'
expect_eq "$status" 500 "the router refuses a change it cannot save"
if grep -qF "$EROFS" <<<"$body"; then ok "the router says why"; else bad "router error: $body"; fi
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'int(d["weight"])')" "10" "the router kept the saved route"

# What only reads works.
sw runs show "$R1"
expect_rc 0 "runs show works read-only"
sw runs
expect_rc 0 "runs (the list) works read-only"
sw releases list support-agent
expect_rc 0 "releases list works read-only"
sw check "$PIPES/versioning.yaml"
expect_rc 0 "check works read-only"
expect_eq "$(tree_sum)" "$before" "nothing in the state folder changed"

# ---- writable again ----
mount -o remount,rw "$S"
router_done
sw resume "$R2"
expect_rc 0 "writable again: the interrupted run resumes to the end"
expect_eq "$(json "$S/runs/$R2/report.json" 'd["status"]')" "succeeded" "its report says succeeded"
finish
