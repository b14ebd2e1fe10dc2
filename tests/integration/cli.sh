#!/usr/bin/env bash
# The command line: help, version, plugins, exit codes, machine output.
source "$(dirname "$0")/lib.sh"

sw --version
expect_rc 0 "--version"
expect_out "plugin ABI 1.1" "--version shows the ABI"
for cmd in run check resume runs plugins; do
    out=$("$SLIPWAY" $cmd --help 2>&1); rc=$?
    expect_rc 0 "$cmd --help"
    expect_out "usage: slipway $cmd" "$cmd --help has usage"
done
out=$("$SLIPWAY" 2>&1); rc=$?
expect_rc 2 "no command"
out=$("$SLIPWAY" frobnicate 2>&1); rc=$?
expect_rc 2 "unknown command"
expect_out "unknown command 'frobnicate'" "unknown command named"

sw plugins
expect_rc 0 "plugins lists"
expect_out "emit" "lists test plugins"
expect_out "lua" "lists the built-in lua stage"
expect_out "not_elf.so" "reports a file that is not a plugin"
sw plugins show emit
expect_rc 0 "plugins show"
expect_out "append_to" "shows parameters"
expect_out "duration" "shows duration types"
expect_out "outputs" "shows outputs"
sw plugins show emit --json
if printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["name"]=="emit" and any(p["name"]=="int" for p in d["params"])'; then ok "plugins show --json"; else bad "plugins show --json"; fi
sw plugins show nope
expect_rc 2 "unknown plugin"
expect_out "plugin 'nope' not found; searched:" "unknown plugin lists the folders searched"

sw run "$PIPES/basic.yaml" --json
expect_rc 0 "run --json"
if printf '%s' "$out" | python3 -c '
import json,sys
evs=[json.loads(l) for l in sys.stdin if l.startswith("{")]
assert evs[0]["event"]=="run_start" and evs[-1]["event"]=="run_end", evs'; then ok "run --json is JSON lines"; else bad "run --json"; fi
out=$(SLIPWAY_PLUGIN_PATH="$SW_TEST_PLUGIN_DIR" "$SLIPWAY" plugins show emit 2>&1); rc=$?
expect_rc 0 "SLIPWAY_PLUGIN_PATH is searched"
out=$("$SLIPWAY" run "$PIPES/basic.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" --state-dir "$T/other" 2>&1); rc=$?
expect_rc 0 "--state-dir"
[ -d "$T/other/runs" ] && ok "--state-dir is used" || bad "--state-dir ignored"
finish
