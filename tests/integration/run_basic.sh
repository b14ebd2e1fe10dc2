#!/usr/bin/env bash
# A pipeline that passes: outputs keep their types, the run folder has everything.
source "$(dirname "$0")/lib.sh"

sw run "$PIPES/basic.yaml"
expect_rc 0 "basic pipeline succeeds"
expect_out "succeeded" "says it succeeded"
expect_out "[score lua] info: scored 3 items" "Lua stage logs with the stage prefix"
d=$(run_dir)
for f in journal.jsonl context.json report.json run.json pipeline.yaml; do
    [ -s "$d/$f" ] && ok "run folder has $f" || bad "run folder lacks $f"
done
expect_eq "$(json "$d/report.json" 'd["status"]')" "succeeded" "report status"
expect_eq "$(json "$d/report.json" 'd["outputs"]["second.i"]["type"]')" "int" "an int stays an int"
expect_eq "$(json "$d/report.json" 'd["outputs"]["second.d"]["type"]')" "double" "an int passed as a double is a double"
expect_eq "$(json "$d/report.json" 'd["outputs"]["first.s"]["value"]')" "build nightly" "interpolation inside a string"
expect_eq "$(json "$d/report.json" 'd["outputs"]["score.total"]["value"]')" "6" "Lua stage output"
expect_eq "$(json "$d/report.json" 'd["outputs"]["first.j"]["value"]["items"]')" "[1, 2, 3]" "json output"
expect_eq "$(json "$d/report.json" '[s["gate"] for s in d["stages"] if "gate" in s]')" "['passed', 'passed']" "both gates passed"
# Every journal line is JSON, and every set is attributed to its stage.
if python3 - "$d/journal.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in events]
assert kinds[0] == "run_start" and kinds[-1] == "run_end", kinds
sets = [e for e in events if e["event"] == "set"]
assert all(e["key"].startswith(e["stage"] + ".") for e in sets)
assert all("ts" in e for e in events)
PY
then ok "journal is well formed"; else bad "journal is well formed"; fi

sw runs
expect_rc 0 "runs lists"
expect_out "$(last_run)" "runs lists the run"
sw runs show "$(last_run)"
expect_out "second.i" "runs show prints outputs"
sw runs show "$(last_run)" --json
expect_out '"status": "succeeded"' "runs show --json"
sw runs show no-such-run
expect_rc 2 "unknown run"

sw run "$PIPES/lua_script.yaml"
expect_rc 0 "a Lua stage from a script file"
expect_eq "$(json "$(run_dir)/report.json" 'd["outputs"]["score.score"]["value"]')" "0.5" "the script's output"
sw run "$PIPES/lua_script.yaml" --set vars.explode=true
expect_rc 1 "a Lua error fails the stage"
expect_out "scripts/score.lua:4:5: exploded on purpose" "the error names the script's file and line"

finish
