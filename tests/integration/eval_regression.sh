#!/usr/bin/env bash
# Regression against production with a real `slipway mock`: the baseline runs on
# the same cases; flips, McNemar's exact p, the paired bootstrap interval and
# the non-inferiority verdict match values computed by hand (the interval by an
# independent Python reimplementation of the seeded bootstrap).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

start_mock "$EVAL_FIX/mock-regression.yaml"
sw run "$PIPES/eval_regression.yaml" --set "vars.base_url=$MOCK_URL/v1"
expect_rc 1 "the non-inferiority gate stops the candidate"
expect_out "10 regressions, 2 improvements, McNemar p = 0.03857" "the stage logs the comparison"
expect_out "NOT shown non-inferior" "and its verdict"
R=$(run_dir)
E=$(eval_dir)
out_of() { json "$R/report.json" "d['outputs']['golden.$1']['value']"; }
expect_eq "$(out_of regressions)" "10" "regressions: pass on production, fail on the candidate"
expect_eq "$(out_of improvements)" "2" "improvements"
# 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2 * 79 / 4096
expect_eq "$(out_of mcnemar_p)" "0.03857421875" "McNemar exact p for b=10, c=2"
expect_eq "$(out_of noninferior)" "False" "not non-inferior"
expect_eq "$(out_of pass_rate)" "0.2" "the candidate passes 4 of 20"
# Cost and latency against production, measured in the same run: B's answers carry
# twice A's tokens (fixed usage in the scenario) and take 60 ms against A's 5 ms.
expect_eq "$(out_of has_baseline)" "True" "production ran beside the candidate"
expect_eq "$(out_of cost_per_case_usd)" "0.0006" "the candidate: 200 x 2e-6 + 20 x 1e-5 per case"
expect_eq "$(out_of baseline_cost_per_case_usd)" "0.0003" "production: 100 x 2e-6 + 10 x 1e-5"
expect_eq "$(out_of cost_ratio)" "2.0" "cost_ratio: twice production's cost per case"
expect_eq "$(json "$R/report.json" "abs(d['outputs']['golden.latency_p95_ratio']['value'] * d['outputs']['golden.baseline_latency_p95_ms']['value'] - d['outputs']['golden.latency_p95_ms']['value']) < 1e-9")" \
    "True" "latency_p95_ratio: the candidate's p95 over production's"
expect_eq "$(json "$R/report.json" "d['outputs']['golden.latency_p95_ratio']['value'] > 1")" "True" \
    "the slower candidate's ratio is above 1 (60 ms answers against 5 ms)"
expect_out "cost per case \$0.000600 vs \$0.000300 (ratio 2.000 [2.000, 2.000])" \
    "the stage logs both costs, the ratio and its interval (exact: every answer costs the same)"
expect_eq "$(json "$R/report.json" "[d['outputs']['golden.latency_p95_ratio_lo']['value'] <= d['outputs']['golden.latency_p95_ratio']['value'] <= d['outputs']['golden.latency_p95_ratio_hi']['value'], d['outputs']['golden.latency_p95_ratio_lo']['value'] > 1]")" \
    "[True, True]" "the ratio's bootstrap interval holds it, and its lower bound is above 1 too"
expect_eq "$(json "$R/report.json" 'd["failure"]["stage"]')" "golden" "the gate failed the eval stage"

S="$E/eval-summary.json"
reg() { json "$S" "d['regression']$1"; }
expect_eq "$(reg '["paired"]')" "20" "20 paired cases"
expect_eq "$(reg '["both_pass"]')" "2" "both pass: q11, q12"
expect_eq "$(reg '["both_fail"]')" "6" "both fail: q15-q20"
expect_eq "$(reg '["diff_mean"]')" "-0.4" "mean score difference (2 - 10) / 20"
# The percentile bootstrap of the 20 differences, 2000 resamples, seed 1, 95%.
expect_eq "$(reg '["ci"]')" "[-0.7, -0.1]" "bootstrap interval"
expect_eq "$(reg '["regressed"]')" "['q01', 'q02', 'q03', 'q04', 'q05', 'q06', 'q07', 'q08', 'q09', 'q10']" "the regressed cases, by id"
expect_eq "$(reg '["improved"]')" "['q13', 'q14']" "the improved cases"
expect_eq "$(reg '["changed_both_pass"]')" "['q11', 'q12']" "changed while both pass, for review"
expect_eq "$(json "$S" 'd["baseline"]["passed"]')" "12" "production passes 12"
expect_eq "$(json "$S" 'd["baseline"]["latency_p95_ms"] == d["outputs"]["baseline_latency_p95_ms"]')" "True" \
    "the summary's baseline block holds the p95 the ratio is made of"
expect_eq "$(json "$S" 'd["outputs"]["cost_ratio"]')" "2.0" "the summary's outputs carry the ratios"
expect_eq "$(json "$S" 'd["provenance"]["baseline_release"] != d["provenance"]["candidate_release"]')" "True" "provenance names both releases"
expect_eq "$(wc -l <"$E/eval-baseline.jsonl" | tr -d ' ')" "20" "the baseline's answers are kept"
expect_eq "$(mock_stat 'd["by_rule"]["a-good"]')" "12" "production answered its 12"
expect_eq "$(mock_stat 'd["requests"]')" "40" "20 cases x 2 releases"
python3 - "$E/report-section.json" <<'PY' && ok "the report section lists the flips and fails" || bad "report-section.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "fail", s["status"]  # not shown non-inferior
summary = {i["label"]: (i["value"], i.get("status")) for i in s["summary"]}
assert summary["regressions"] == ("10", "fail") and summary["improvements"][0] == "2", summary
assert summary["cost per case vs production"][0] == "x2.000 [2.000, 2.000] ($0.000600 vs $0.000300)", summary
assert summary["latency p95 vs production"][0].startswith("x"), summary
assert summary["McNemar p"][0] == "0.03857" and summary["non-inferior"] == ("no (margin 0.05)", "fail"), summary
tables = {t["title"]: t for t in s["tables"]}
flips = tables["Flips against production"]
assert flips["filter"] == 1 and flips["columns"][:2] == ["case", "flip"], flips["columns"]
by = {}
for r in flips["rows"]:
    by.setdefault(r[1], []).append(r[0])
assert by == {"pass→fail": ["q%02d" % i for i in range(1, 11)], "fail→pass": ["q13", "q14"],
              "changed while both pass": ["q11", "q12"]}, by
assert "note" not in flips
cases = tables["Cases"]
assert [r[1] for r in cases["rows"]].count("FAIL") == 16 and len(cases["rows"]) == 20, cases["rows"]
assert [r[1] for r in cases["rows"]][:16] == ["FAIL"] * 16
series = s["charts"][0]["series"]
assert [x["name"] for x in series] == ["candidate", "baseline"], series
assert [sum(p[1] for p in x["points"]) for x in series] == [20, 20], series
assert [p[0] for p in series[0]["points"]] == [p[0] for p in series[1]["points"]]
PY
python3 -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); assert r.attrib["failures"] == "16"' "$E/junit.xml" && ok "junit.xml: the candidate's 16 failures" || bad "junit"

# The same release on both sides: nothing flips, non-inferior.
sed 's#agent-b#agent-a#' "$PIPES/eval_regression.yaml" >"$T/same.yaml"
sed -i "s#\.\./fixtures#$SW_SOURCE_DIR/tests/fixtures#g" "$T/same.yaml"
sw run "$T/same.yaml" --set "vars.base_url=$MOCK_URL/v1"
expect_rc 0 "a release against itself passes the gate"
expect_out "the baseline is the candidate" "and the stage says so"
R=$(run_dir)
expect_eq "$(out_of mcnemar_p)" "1.0" "no flip: p = 1"
expect_eq "$(out_of noninferior)" "True" "non-inferior"

finish
