#!/usr/bin/env bash
# Retries against a real `slipway mock` injecting 429, 500, 503 and dropped
# connections: nothing lost, every count exact against the mock's own
# counters; Retry-After honoured; a retry budget of 0 turns each fault into an
# ERROR case (never a FAIL).
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

python3 - "$T/faults.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(60):
        f.write(json.dumps({"id": "c%02d" % i, "input": "case %d" % i,
                            "assert": [{"type": "equals", "value": "OK: case %d" % i}]}) + "\n")
PY

start_mock "$EVAL_FIX/mock-faults.yaml"
sw run "$PIPES/eval_faults.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.dataset=$T/faults.jsonl"
expect_rc 0 "the eval succeeds through the faults"
expect_out "60 cases: 60 passed, 0 failed, 0 errors" "every case answered and passed"
E=$(eval_dir)
S="$E/eval-summary.json"
sum_of() { json "$S" "$1"; }

expect_eq "$(python3 -c 'import json,sys; print(len({json.loads(l)["case"] for l in open(sys.argv[1])}))' "$E/eval.jsonl")" "60" "eval.jsonl has each case once"
expect_eq "$(wc -l <"$E/eval.jsonl" | tr -d ' ')" "60" "and nothing twice"
injected=$(mock_stat 'd["injected"]["429"] + d["injected"]["500"] + d["injected"]["503"] + d["injected"]["drop"]')
if [ "$injected" -gt 5 ]; then ok "the mock injected faults ($injected)"; else bad "only $injected faults injected"; fi
expect_eq "$(sum_of 'd["http"]["target"]["attempts"]')" "$(mock_stat 'd["requests"]')" "attempts = requests the mock counted"
expect_eq "$(sum_of 'd["http"]["target"]["retries"] + d["http"]["target"]["silent_retries"]')" "$injected" "one retry per injected fault"
expect_eq "$(sum_of 'd["http"]["target"]["status_429"]')" "$(mock_stat 'd["injected"]["429"]')" "429s seen = 429s injected"
expect_eq "$(sum_of 'd["http"]["target"]["status_5xx"]')" "$(mock_stat 'd["injected"]["500"] + d["injected"]["503"]')" "5xx seen = 5xx injected"
expect_eq "$(sum_of 'd["http"]["target"]["transport_errors"]')" "$(mock_stat 'd["injected"]["drop"]')" "dropped connections seen = drops injected"
expect_eq "$(mock_stat 'd["by_status"]["200"]')" "60" "exactly one success per case"
expect_eq "$(sum_of 'd["http"]["target"]["ok"]')" "60" "the summary agrees"

# No retries at all: each fault the eval sees ends its case as an ERROR.
mock_reset
sw run "$PIPES/eval_faults.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.dataset=$T/faults.jsonl" --set vars.retry_budget=0
expect_rc 1 "with retry_budget 0 the error rate is above max_error_rate"
expect_out "could not be measured" "the stage says the measurement failed"
E=$(eval_dir)
S="$E/eval-summary.json"
injected=$(mock_stat 'd["injected"]["429"] + d["injected"]["500"] + d["injected"]["503"] + d["injected"]["drop"]')
expect_eq "$(sum_of 'd["http"]["target"]["retries"]')" "0" "no retry was made"
expect_eq "$(sum_of 'd["outputs"]["errors"] + d["http"]["target"]["silent_retries"]')" "$injected" "errors = faults injected (less libcurl's own resends)"
expect_eq "$(sum_of 'd["outputs"]["failed"]')" "0" "a transport error is never a FAIL"
expect_eq "$(sum_of 'd["outputs"]["passed"] + d["outputs"]["errors"]')" "60" "every case accounted for"
expect_eq "$(sum_of 'd["http"]["target"]["attempts"]')" "$(mock_stat 'd["requests"]')" "attempts = requests the mock counted"
expect_eq "$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if "retry budget exhausted" in json.loads(l).get("error","")) == int(sys.argv[2]))' "$E/eval.jsonl" "$(sum_of 'd["outputs"]["errors"]')")" "True" "every error says the retry budget ran out"
stop_mock

# Retry-After: a 429 asking for a second holds the pool that long.
start_mock "$EVAL_FIX/mock-retry-after.yaml"
head -n 10 "$T/faults.jsonl" >"$T/ten.jsonl"
sw run "$PIPES/eval_faults.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.dataset=$T/ten.jsonl"
expect_rc 0 "the eval waits out the 429s"
S="$(eval_dir)/eval-summary.json"
n429=$(mock_stat 'd["injected"]["429"]')
if [ "$n429" -gt 0 ]; then ok "the mock sent $n429 429s"; else bad "no 429 injected"; fi
expect_eq "$(sum_of "d['http']['target']['backoff_ms'] >= 1000 * $n429")" "True" "each 429 waited at least its Retry-After"
expect_eq "$(sum_of 'd["outputs"]["passed"]')" "10" "and every case passed"

finish
