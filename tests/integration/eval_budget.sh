#!/usr/bin/env bash
# Budget caps and cancellation against a real `slipway mock`: once max_usd or
# max_tokens is spent no request goes out, the stage ends in ERROR naming the
# cap, the worst case was logged before starting, and what finished is
# reported. A run interrupted mid-eval reports only the cases that finished.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

start_mock "$EVAL_FIX/mock-priced.yaml"

# $0.012 a request: the fifth reaches $0.05; at most one more was in flight.
sw run "$PIPES/eval_budget.yaml" --set "vars.base_url=$MOCK_URL/v1" --set vars.max_usd=0.05
expect_rc 1 "the cap stops the stage"
expect_out "worst case" "the worst case is logged first"
expect_out "budget cap reached: \$0.0600 spent of max_usd \$0.0500" "the stage names the cap"
E=$(eval_dir)
S="$E/eval-summary.json"
sent=$(mock_stat 'd["requests"]')
if [ "$sent" -ge 5 ] && [ "$sent" -le 6 ]; then ok "requests stopped at the cap ($sent sent)"; else bad "$sent requests sent"; fi
expect_eq "$(json "$S" 'd["outputs"]["cases"] + d["not_run"]')" "20" "cases run + not run = the dataset"
expect_eq "$(json "$S" 'd["outputs"]["cases"]')" "$sent" "every request sent was reported"
expect_eq "$(json "$S" 'round(d["spend"]["total_usd"], 6)')" "$(python3 -c "print(round($sent * 0.012, 6))")" "spend is what the mock billed"
expect_eq "$(json "$S" 'd["stopped"][:19]')" "budget cap reached:" "the summary says why it stopped"
python3 -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); assert int(r.attrib["skipped"]) == 20 - int(sys.argv[2])' "$E/junit.xml" "$sent" && ok "junit.xml marks the cases not run as skipped" || bad "junit skipped"
python3 - "$E/report-section.json" "$sent" <<'PY' && ok "the report section: fail, why, the cases not run listed after the finished ones" || bad "report-section.json"
import json, sys
s = json.load(open(sys.argv[1]))
sent = int(sys.argv[2])
assert s["status"] == "fail" and s["text"].startswith("The measurement failed: budget cap reached: "), s
summary = {i["label"]: (i["value"], i.get("status")) for i in s["summary"]}
assert summary["stopped"][1] == "fail" and summary["not run"] == ("%d of 20" % (20 - sent), "warn"), summary
rows = next(t for t in s["tables"] if t["title"] == "Cases")["rows"]
assert len(rows) == 20 and [r[1] for r in rows].count("NOT RUN") == 20 - sent, rows
PY

mock_reset
sw run "$PIPES/eval_budget.yaml" --set "vars.base_url=$MOCK_URL/v1" --set vars.max_tokens=5000
expect_rc 1 "the token cap stops the stage"
expect_out "budget cap reached: 6000 tokens spent of max_tokens 5000" "and names the cap"
sent=$(mock_stat 'd["requests"]')
if [ "$sent" -ge 3 ] && [ "$sent" -le 4 ]; then ok "requests stopped at the token cap ($sent sent)"; else bad "$sent requests sent"; fi

# Prices are needed to cap dollars: a release without them is refused up front.
mkdir -p "$T/fixtures/eval"
cp -r "$EVAL_FIX/agent-a" "$T/fixtures/eval/"
cp "$EVAL_FIX/regression.jsonl" "$T/fixtures/eval/"
sed -i '/^pricing:/,/output_per_token/d' "$T/fixtures/eval/agent-a/agent.yaml"
sed "s#\.\./fixtures#$T/fixtures#g" "$PIPES/eval_budget.yaml" >"$T/unpriced.yaml"
mock_reset
sw run "$T/unpriced.yaml" --set "vars.base_url=$MOCK_URL/v1" --set vars.max_usd=1
expect_rc 1 "max_usd without prices"
expect_out "max_usd needs prices" "is refused with the reason"
expect_eq "$(mock_stat 'd["requests"]')" "0" "before any request"

# Cancellation: SIGINT while requests wait on the mock; only finished cases are reported.
mock_reset
python3 - "$T/slow.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(4):
        f.write(json.dumps({"id": "fast%d" % i, "input": "fast %d" % i}) + "\n")
    for i in range(6):
        f.write(json.dumps({"id": "slow%d" % i, "input": "slow %d" % i}) + "\n")
PY
"$SLIPWAY" run "$PIPES/eval_budget.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.dataset=$T/slow.jsonl" >"$T/cancel.out" 2>&1 &
RUN_PID=$!
for _ in $(seq 1 400); do
    [ "$(mock_stat 'd["in_flight"]')" -ge 2 ] && [ "$(mock_stat 'd["requests"]')" -ge 6 ] && break
    sleep 0.05
done
kill -INT "$RUN_PID"
wait "$RUN_PID"
rc=$?
out=$(cat "$T/cancel.out")
expect_rc 3 "an interrupted eval leaves the run resumable"
E=$(eval_dir)
expect_eq "$(wc -l <"$E/eval.jsonl" | tr -d ' ')" "4" "only the four finished cases are in eval.jsonl"
expect_eq "$(json "$E/eval-summary.json" 'd["stopped"]')" "cancelled" "the summary says it was cancelled"
expect_eq "$(json "$E/eval-summary.json" 'd["outputs"]["cases"]')" "4" "and counts what finished"
expect_eq "$(json "$E/report-section.json" 'd["status"], d["text"][:33]')" "('fail', 'The measurement failed: cancelled')" "the report section says it was cancelled"

finish
