#!/usr/bin/env bash
# The eval stage end to end against a real `slipway mock`: the agent loop with a
# tool and canned results, the judge in its own pool, PASS/FAIL/ERROR (an ERROR
# never negated), the typed outputs and a gate on them, eval.jsonl,
# eval-summary.json, a well-formed junit.xml, the report section; the API key
# written nowhere; dataset errors with file:line before anything runs.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

start_mock "$EVAL_FIX/mock-agent.yaml"
export EVAL_TEST_KEY=sk-test-SECRET-4242

sw run "$PIPES/eval_agent.yaml" --set "vars.base_url=$MOCK_URL/v1"
expect_rc 0 "the eval runs and its gate passes"
expect_out "6 cases: 2 passed, 2 failed, 2 errors" "the stage logs the tally"
expect_out "worst case" "the worst-case spend is logged before starting"
R=$(run_dir)
E=$(eval_dir)

# The typed outputs, as later stages and gates see them.
out_of() { json "$R/report.json" "d['outputs']['golden.$1']['value']"; }
expect_eq "$(out_of cases)" "6" "cases"
expect_eq "$(out_of passed)" "2" "passed"
expect_eq "$(out_of failed)" "2" "failed"
expect_eq "$(out_of errors)" "2" "errors"
expect_eq "$(out_of pass_rate)" "0.5" "pass_rate = passed / (passed + failed)"
expect_eq "$(python3 -c "print(round($(out_of error_rate), 6))")" "0.333333" "error_rate = errors / cases"
expect_eq "$(out_of regressions)" "0" "no baseline: no regressions"
expect_eq "$(out_of mcnemar_p)" "None" "no baseline: mcnemar_p is null"
expect_eq "$(out_of noninferior)" "None" "no baseline: noninferior is null"
expect_eq "$(out_of has_baseline)" "False" "no baseline: has_baseline says so"
expect_eq "$(out_of cost_ratio) $(out_of cost_ratio_lo) $(out_of latency_p95_ratio) $(out_of latency_p95_ratio_lo)" \
    "None None None None" \
    "no baseline: the ratios and the interval are null"
expect_eq "$(out_of baseline_cost_per_case_usd) $(out_of baseline_latency_p95_ms)" "None None" \
    "no baseline: production's values are null"
expect_eq "$(out_of report)" "$R/report.html" "report is the run's report.html"
for k in tokens_in tokens_out cost_usd cost_per_case_usd latency_p50_ms latency_p95_ms score_mean; do
    v=$(out_of $k)
    if python3 -c "import sys; sys.exit(0 if float('$v') > 0 else 1)"; then ok "$k is positive ($v)"; else bad "$k: $v"; fi
done

# Each case as eval.jsonl has it.
row() { python3 - "$E/eval.jsonl" "$1" "$2" <<'PY'
import json, sys
rows = {r["case"]: r for r in map(json.loads, open(sys.argv[1]))}
print(eval(sys.argv[3], {"r": rows[sys.argv[2]]}))
PY
}
expect_eq "$(wc -l <"$E/eval.jsonl" | tr -d ' ')" "6" "one line per case"
expect_eq "$(row lookup 'r["outcome"]')" "PASS" "the tool case passes"
expect_eq "$(row lookup 'r["steps"]')" "2" "model -> tool call -> canned result -> model: two steps"
expect_eq "$(row lookup 'r["tool_calls"][0]["arguments"]["order_id"]')" "NW-104233" "the tool call's arguments are recorded"
expect_eq "$(row lookup '"delivered" in r["output"]')" "True" "the canned result reached the model"
expect_eq "$(row lookup '[a["outcome"] for a in r["assertions"] if a["type"]=="llm-rubric"][0]')" "PASS" "the judge passed it"
expect_eq "$(row ask-number 'r["outcome"]')" "PASS" "a case without tools passes"
expect_eq "$(row wants-refund 'r["outcome"]')" "FAIL" "a failing case fails"
expect_eq "$(row broken-check 'r["outcome"]')" "ERROR" "a broken lua assertion is ERROR, not FAIL"
expect_eq "$(row judge-unreadable 'r["outcome"]')" "ERROR" "an unreadable judge is ERROR, even under not-"
expect_eq "$(row judge-unreadable 'r["assertions"][1]["message"][:22]')" "judge: no JSON verdict" "the judge error says why"

# What the mock saw: two steps for each tool case, one judge call per llm-rubric.
expect_eq "$(mock_stat 'd["requests"]')" "11" "the mock served every request once"
expect_eq "$(mock_stat 'd["by_rule"]["after-lookup"]')" "2" "two tool results were sent back"
expect_eq "$(mock_stat 'd["by_rule"]["judge-pass"] + d["by_rule"]["judge-fail"] + d["by_rule"]["judge-garbled"]')" "3" "three judge calls"
expect_eq "$(json "$E/eval-summary.json" 'd["http"]["target"]["attempts"] + d["http"]["judge"]["attempts"]')" "11" "the summary counts the same requests"
expect_eq "$(json "$E/eval-summary.json" 'd["spend"]["judge"]["calls"]')" "3" "judge calls in the summary"
expect_eq "$(json "$E/eval-summary.json" 'd["provenance"]["dataset_sha256"] == __import__("hashlib").sha256(open("'"$EVAL_FIX"'/agent.jsonl","rb").read()).hexdigest()')" "True" "provenance: the dataset's SHA-256"
expect_eq "$(json "$E/eval-summary.json" 'd["provenance"]["candidate_release"] == d["run_id"] or len(d["provenance"]["candidate_release"])')" "12" "provenance: the release id"
expect_eq "$(json "$E/eval-summary.json" 'len(d["provenance"]["judge_prompt_sha256"])')" "64" "provenance: the judge prompt's hash"
expect_eq "$(json "$E/eval-summary.json" 'd["provenance"]["pricing"]["candidate"]["input_per_token"]')" "2e-06" "provenance: the price table"

# junit.xml: well-formed, one testcase per case, failures and errors with messages.
python3 - "$E/junit.xml" <<'PY' && ok "junit.xml parses and has the right cases" || bad "junit.xml"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
assert len(cases) == 6, len(cases)
assert root.attrib["failures"] == "2" and root.attrib["errors"] == "2", root.attrib
by = {c.attrib["name"]: c for c in cases}
odd = by["xml <&> \"quotes\" 'too'"]
f = odd.find("failure")
assert f is not None and "nothing like this" in f.attrib["message"], f
assert by["broken-check"].find("error") is not None
assert by["lookup"].find("failure") is None and by["lookup"].find("error") is None
props = {p.attrib["name"]: p.attrib["value"] for p in root.findall(".//property")}
assert len(props["dataset_sha256"]) == 64, props
PY

# report-section.json: the eval's section of the run report.
python3 - "$E/report-section.json" <<'PY' && ok "the report section: summary, cases (FAIL and ERROR first), histogram, provenance" || bad "report-section.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["format"] == 1 and s["title"] == "Eval: golden" and s["status"] == "pass", s.get("title")
summary = {i["label"]: i["value"] for i in s["summary"]}
assert summary["cases"] == "6" and summary["passed"] == "2" and summary["failed"] == "2", summary
assert summary["errors"] == "2" and summary["pass rate"] == "50.0%", summary
assert "regressions" not in summary, summary
tables = {t["title"]: t for t in s["tables"]}
cases = tables["Cases"]
assert cases["columns"][:2] == ["case", "outcome"] and cases["filter"] == 1, cases["columns"]
outcomes = [r[1] for r in cases["rows"]]
assert len(outcomes) == 6 and "note" not in cases, outcomes
assert sorted(outcomes[:4]) == ["ERROR", "ERROR", "FAIL", "FAIL"] and outcomes[4:] == ["PASS", "PASS"], outcomes
rows = {r[0]: r for r in cases["rows"]}
assert rows["broken-check"][1] == "ERROR" and rows["lookup"][1] == "PASS", rows.keys()
assert "nothing like this" in rows["xml <&> \"quotes\" 'too'"][5], rows
assert "Flips against production" not in tables
hist = s["charts"][0]
assert hist["kind"] == "bar" and [x["name"] for x in hist["series"]] == ["candidate"], hist
assert sum(p[1] for p in hist["series"][0]["points"]) == 4, hist  # samples that were not ERROR
assert all(p[0].endswith(" ms") for p in hist["series"][0]["points"]), hist
prov = dict(tables["Provenance"]["rows"])
assert len(prov["dataset_sha256"]) == 64 and len(prov["judge_prompt_sha256"]) == 64, prov
assert prov["judge_model"] != "none" and "input_per_token" in prov["pricing: candidate"], prov
PY

# The API key went out in requests, and is written nowhere.
if grep -rqF "$EVAL_TEST_KEY" "$R" "$SLIPWAY_STATE_DIR"; then
    bad "the API key was written: $(grep -rlF "$EVAL_TEST_KEY" "$SLIPWAY_STATE_DIR")"
else
    ok "the API key is in no file of the run"
fi

# A broken dataset stops the stage before any request, with file:line.
mock_reset
cp "$PIPES/eval_agent.yaml" "$T/broken.yaml"
mkdir -p "$T/fixtures/eval"
cp -r "$EVAL_FIX/agent-a" "$T/fixtures/eval/"
printf '{"id": "a", "input": "x"}\n{"id": "b", "input": "y", "assert": [{"type": "icontians", "value": "z"}]}\n' >"$T/fixtures/eval/agent.jsonl"
sed -i "s#\.\./fixtures#$T/fixtures#g" "$T/broken.yaml"
sw run "$T/broken.yaml" --set "vars.base_url=$MOCK_URL/v1"
expect_rc 1 "a broken dataset fails the run"
expect_out "agent.jsonl:2: error: case 'b': assert[0]: unknown assertion type 'icontians' (did you mean 'icontains'?)" "the error names file, line and case"
expect_eq "$(mock_stat 'd["requests"]')" "0" "nothing was sent"

finish
