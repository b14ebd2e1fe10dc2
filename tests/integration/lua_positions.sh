#!/usr/bin/env bash
# Every diagnostic from Lua (gates, inline code, scripts, monitor rules) names the file as the
# user named it, with the file's line and column, at any path length: Lua itself cuts chunk
# names at 60 bytes, so positions are mapped back by Slipway (core/lua/source_map.h). A gate
# that says no without a reason gets one made from its expression (core/lua/explain.h).
source "$(dirname "$0")/lib.sh"

# From where the files are, named relatively, as a user would.
cd "$SW_SOURCE_DIR"
sw run tests/pipelines/gate_error.yaml
expect_rc 1 "an erroring gate fails"
expect_out "tests/pipelines/gate_error.yaml:8:7: attempt to compare number with nil" "a gate's error: file, line and column"

sw run tests/pipelines/lua_positions.yaml
expect_rc 1 "inline Lua that errors fails the stage"
expect_out "tests/pipelines/lua_positions.yaml:12:11: attempt to index a nil value (local 't')" "inline code's error: the pipeline's line and column"
expect_out "tests/pipelines/lua_positions.yaml:12:11: in function 'run'" "the traceback names the pipeline too"

sw run tests/pipelines/lua_script_broken.yaml
expect_rc 1 "a script that errors fails the stage"
expect_out "tests/pipelines/scripts/broken.lua:3:3: attempt to index a nil value (field 'nothing')" "a script's error: the script as the user would name it"

sw run tests/pipelines/lua_positions_rules.yaml
expect_rc 1 "a monitor rule that does not compile fails the stage"
expect_out "rollback_when: tests/pipelines/lua_positions_rules.yaml:13:9: unexpected symbol near <eof>" "a monitor rule's error: the rule's last line"

# A gate without a reason of its own gets one made from its expression and operands.
sw run tests/pipelines/gate_reason.yaml
expect_rc 1 "a gate that says no fails the run"
expect_out "gate failed: golden.d (0.5) >= vars.min_pass_rate (0.95)" "the reason names the expression and its values"
expect_eq "$(json "$(run_dir)/report.json" '[s.get("reason") for s in d["stages"]][1]')" "gate failed: golden.d (0.5) >= vars.min_pass_rate (0.95)" "the report has the reason"

sw check tests/pipelines/gate_error.yaml
expect_no_out $'\x01' "no internal chunk name leaks"

# The same files at the end of a path far longer than Lua's 60-byte chunk names, named
# absolutely and relatively.
deep="$T"
while [ ${#deep} -lt 260 ]; do deep="$deep/a-long-folder-name-of-a-ci-runner"; done
mkdir -p "$deep/pipes/scripts"
cp tests/pipelines/gate_error.yaml tests/pipelines/lua_positions.yaml tests/pipelines/lua_script_broken.yaml "$deep/pipes/"
cp tests/pipelines/scripts/broken.lua "$deep/pipes/scripts/"

sw run "$deep/pipes/gate_error.yaml"
expect_out "$deep/pipes/gate_error.yaml:8:7: attempt to compare" "a gate's error names a ${#deep}-byte path whole"
sw run "$deep/pipes/lua_script_broken.yaml"
expect_out "$deep/pipes/scripts/broken.lua:3:3: attempt to index" "a script's error names a ${#deep}-byte path whole"
cd "$deep"
sw run pipes/lua_positions.yaml
expect_out "failed: stage 'inline': pipes/lua_positions.yaml:12:11: attempt to index" "relative to where the command ran, from deep down"
finish
