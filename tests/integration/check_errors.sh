#!/usr/bin/env bash
# `slipway check` reports every mistake with file:line:col, and exits 2.
source "$(dirname "$0")/lib.sh"

sw check "$PIPES/basic.yaml"
expect_rc 0 "a good pipeline checks"

sw check "$PIPES/errors.yaml"
expect_rc 2 "errors found"
f="$PIPES/errors.yaml"
expect_out "errors.yaml:11:7: error: stage 'first': unknown parameter 'treshold'" "unknown parameter with position"
expect_out "stage 'first' (emit) has no output 'nope'" "unknown output"
expect_out "stage 'third' runs later" "forward reference"
expect_out "errors.yaml:20:12" "wrong literal type has a position"
expect_out "did you mean 'rate'" "did-you-mean on variables"
expect_out "gate does not compile" "gate syntax error"
expect_out "plugin 'no_such_plugin' not found" "unknown plugin"
expect_out "missing required parameter 'key'" "missing required parameter"

sw check "$PIPES/structure.yaml"
expect_rc 2 "structural errors"
expect_out "unknown key 'stagse' (did you mean 'stages'?)" "top-level typo"
expect_out "Bad-Id" "bad stage id"
expect_out "duplicate" "duplicate stage id"
expect_out "did you mean 'background'" "stage key typo"
expect_out "soon" "bad duration"

sw check "$PIPES/errors.yaml" --json
expect_rc 2 "--json errors"
if printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["errors"] >= 8 and all("line" in x for x in d["diagnostics"])'; then ok "--json diagnostics parse and have lines"; else bad "--json diagnostics"; fi

sw check /no/such/file.yaml
expect_rc 2 "missing file"
expect_out "/no/such/file.yaml" "missing file named"

sw run "$PIPES/errors.yaml"
expect_rc 2 "run refuses an invalid pipeline"
[ ! -d "$SLIPWAY_STATE_DIR/runs" ] || [ -z "$(ls -A "$SLIPWAY_STATE_DIR/runs")" ] && ok "nothing ran" || bad "a run folder was created"
finish
