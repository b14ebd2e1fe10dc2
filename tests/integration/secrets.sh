#!/usr/bin/env bash
# A secret planted in the environment and used every way a pipeline can
# (tests/pipelines/secrets.yaml) appears in no artifact of the run and in no
# output of the commands: docs/security.md, "Secrets".
source "$(dirname "$0")/lib.sh"

# Unusual enough that it cannot match by chance, with a character JSON escapes.
SECRET='sw-planted-9f3c1e7a"d4b2-secret'
export SW_PLANTED_SECRET=$SECRET
# The same text as JSON writes it inside a string.
ESCAPED='sw-planted-9f3c1e7a\"d4b2-secret'


# no_secret WHERE TEXT: the text does not hold the secret, raw or escaped.
no_secret() {
    local where=$1 text=$2 hits
    hits=$(printf '%s\n' "$text" | grep -aF -e "$SECRET" -e "$ESCAPED" -e "9f3c1e7a")
    if [ -z "$hits" ]; then
        ok "$where does not hold the secret"
    else
        out=$hits
        bad "$where holds the secret"
    fi
}

sw check "$PIPES/secrets.yaml"
expect_rc 0 "the pipeline checks"
no_secret "check's output" "$out"

sw run "$PIPES/secrets.yaml" -v
expect_rc 1 "the run fails at the stage that quotes its token"
no_secret "run's output" "$out"
expect_out "using token ***" "a logged secret parameter is masked"
expect_out "note: Authorization: Bearer *** (nightly)" "a secret interpolated into a string is masked"
expect_out "copy.s is nil" "an output copied from a secret is hidden from Lua"
expect_out "env is nil" "env.* is hidden from Lua"
expect_out "token *** was rejected" "a failure reason quoting the secret is masked"
d=$(run_dir)

sw run "$PIPES/secrets.yaml" --json
no_secret "run --json's events" "$out"

# Every file the runs left behind, whatever its name or format.
files=$(find "$SLIPWAY_STATE_DIR" -type f | sort)
[ -n "$files" ] && ok "the runs left files to search" || bad "no run files"
[ -f "$d/journal.jsonl" ] && [ -f "$d/context.json" ] && [ -f "$d/report.json" ] &&
    ok "journal, checkpoint and report exist" || bad "a run file is missing"
for f in $files; do
    no_secret "${f#"$SLIPWAY_STATE_DIR"/}" "$(cat "$f")"
done

for id in $(ls "$SLIPWAY_STATE_DIR/runs"); do
    sw runs show "$id"
    no_secret "runs show $id" "$out"
done
sw runs list
no_secret "runs list" "$out"

finish
