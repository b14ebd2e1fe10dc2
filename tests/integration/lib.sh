# lib.sh - shared by the integration tests (sourced, never run by CTest).
# CTest sets: SLIPWAY (the binary), SW_TEST_PLUGIN_DIR, SW_SOURCE_DIR, SW_BUILD_DIR, SW_TEST_TMP.
set -uo pipefail

: "${SLIPWAY:?SLIPWAY must point at the slipway binary}"
: "${SW_SOURCE_DIR:?}" "${SW_TEST_PLUGIN_DIR:?}"
mkdir -p "${SW_TEST_TMP:-/tmp}"
T=$(mktemp -d "${SW_TEST_TMP:-/tmp}/sw.XXXXXX")
trap 'rm -rf "$T"' EXIT
export SLIPWAY_STATE_DIR="$T/state"
export NO_COLOR=1
export SLIPWAY_CANCEL_GRACE_MS=${SLIPWAY_CANCEL_GRACE_MS:-2000}
PIPES="$SW_SOURCE_DIR/tests/pipelines"

# SLIPWAY_WRAP="valgrind ...": every `slipway serve` the test starts runs under that
# command (docs/security.md, "Valgrind over the router"); other commands run as they are.
if [ -n "${SLIPWAY_WRAP:-}" ]; then
    cat >"$T/slipway-wrapped" <<EOF
#!/usr/bin/env bash
[ "\${1:-}" = serve ] && exec $SLIPWAY_WRAP "$SLIPWAY" "\$@"
exec "$SLIPWAY" "\$@"
EOF
    chmod +x "$T/slipway-wrapped"
    SLIPWAY="$T/slipway-wrapped"
fi
passed=0
failed=0

# sw ARGS...: the slipway binary with the test plugins on the path; output in $out, code in $rc.
sw() {
    out=$("$SLIPWAY" "$@" --plugin-path "$SW_TEST_PLUGIN_DIR" 2>&1)
    rc=$?
}

ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; [ -n "${out:-}" ] && printf '%s\n' "$out" | sed 's/^/    # /' | head -40; }

# expect_rc N DESCRIPTION
expect_rc() { if [ "$rc" -eq "$1" ]; then ok "$2 (exit $1)"; else bad "$2: expected exit $1, got $rc"; fi; }
# expect_out TEXT DESCRIPTION: the last output contains TEXT
# Here-strings, not pipes: with pipefail, `printf | grep -q` fails when grep exits
# before printf has written a long output (SIGPIPE).
expect_out() { if grep -qF -- "$1" <<<"$out"; then ok "$2"; else bad "$2: output lacks '$1'"; fi; }
expect_no_out() { if grep -qF -- "$1" <<<"$out"; then bad "$2: output has '$1'"; else ok "$2"; fi; }
# expect_eq GOT WANT DESCRIPTION
expect_eq() { if [ "$1" == "$2" ]; then ok "$3"; else bad "$3: got '$1', want '$2'"; fi; }

# The id of the newest run.
last_run() { ls -1 "$SLIPWAY_STATE_DIR/runs" | sort | tail -n 1; }
run_dir() { echo "$SLIPWAY_STATE_DIR/runs/$(last_run)"; }
# jq-free JSON reads: python3 is on every Debian image that has our build deps.
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }

# journal_has RUN_DIR EVENT [STAGE]: the run's journal has such an event.
journal_has() {
    python3 - "$@" <<'PY'
import json, sys
path, kind = sys.argv[1] + "/journal.jsonl", sys.argv[2]
stage = sys.argv[3] if len(sys.argv) > 3 else None
evs = [json.loads(l) for l in open(path)]
sys.exit(0 if any(e["event"] == kind and (stage is None or e.get("stage") == stage) for e in evs) else 1)
PY
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
