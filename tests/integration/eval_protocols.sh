#!/usr/bin/env bash
# The eval stage in every protocol against a real `slipway mock`: a release on Anthropic is
# evaluated over Messages (tool_use / tool_result round trip, system, max_tokens, x-api-key)
# while production, on OpenAI, runs beside it over Chat Completions, with no setting but the
# release's provider; the judge over Messages; a forced openai-responses target (function_call
# / function_call_output items, instructions); the same assertions, usage and cost in each.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

start_mock "$EVAL_FIX/mock-agent.yaml"
export EVAL_TEST_KEY=sk-test-SECRET-4242 EVAL_ANT_KEY=sk-ant-SECRET-5353

sw run "$PIPES/eval_protocols.yaml" --set "vars.base_url=$MOCK_URL/v1"
expect_rc 0 "the Claude candidate and the OpenAI baseline are evaluated, and the gate passes"
expect_out "2 cases: 2 passed, 0 failed, 0 errors" "every case passes on the candidate"
R=$(run_dir)
E=$(eval_dir)
S="$E/eval-summary.json"
expect_eq "$(json "$S" 'd["provenance"]["candidate_protocol"], d["provenance"]["baseline_protocol"], d["provenance"]["judge_protocol"]')" \
    "('messages', 'chat', 'messages')" "each release over its provider's protocol; the judge over Messages"
# Candidate over Messages: 2 model calls for the tool case, 1 for the other; one judge call.
# Baseline over Chat Completions: the same 3 model calls; its judge call over Messages too.
expect_eq "$(mock_stat 'd["messages"], d["chat_completions"], d["responses"]')" "(5, 3, 0)" \
    "the mock saw Messages and Chat Completions requests, no Responses"
expect_eq "$(mock_stat 'd["by_rule"]["after-lookup"]')" "2" "a tool result went back in each protocol"
row() { python3 - "$1" "$2" "$3" <<'PY'
import json, sys
rows = {r["case"]: r for r in map(json.loads, open(sys.argv[1]))}
print(eval(sys.argv[3], {"r": rows[sys.argv[2]]}))
PY
}
for side in eval eval-baseline; do
    f="$E/$side.jsonl"
    expect_eq "$(row "$f" lookup 'r["outcome"], r["steps"]')" "('PASS', 2)" "$side: tool call -> canned result -> answer"
    expect_eq "$(row "$f" lookup 'r["tool_calls"][0]["arguments"]["order_id"]')" "NW-104233" "$side: the tool call's arguments"
    expect_eq "$(row "$f" lookup '"delivered" in r["output"]')" "True" "$side: the canned result reached the model"
done
out_of() { json "$R/report.json" "d['outputs']['golden.$1']['value']"; }
for k in tokens_in tokens_out cost_usd baseline_cost_per_case_usd; do
    v=$(out_of $k)
    if python3 -c "import sys; sys.exit(0 if float('$v') > 0 else 1)"; then ok "$k is positive ($v)"; else bad "$k: $v"; fi
done
# Priced at each release's own prices: Claude's 3e-6 / 1.5e-5 against OpenAI's 2e-6 / 1e-5.
expect_eq "$(json "$S" 'round(d["spend"]["candidate"]["cost_usd"] / (d["spend"]["candidate"]["tokens_in"] * 3e-6 + d["spend"]["candidate"]["tokens_out"] * 1.5e-5), 6)')" \
    "1.0" "the candidate's cost is its tokens at Claude's prices"
if grep -rq "SECRET" "$R" "$SLIPWAY_STATE_DIR/runs" 2>/dev/null; then bad "an API key was written"; else ok "no API key written"; fi

# The OpenAI release forced over the Responses API, its judge too.
mock_reset
sw run "$PIPES/eval_protocols.yaml" --set "vars.base_url=$MOCK_URL/v1" \
    --set vars.candidate=../fixtures/eval/agent-a --set vars.target=openai-responses \
    --set vars.judge_target=openai-responses
expect_rc 0 "the eval over the Responses API passes"
E=$(eval_dir)
expect_eq "$(json "$E/eval-summary.json" 'd["provenance"]["candidate_protocol"], d["provenance"]["judge_protocol"]')" \
    "('responses', 'responses')" "target openai-responses"
expect_eq "$(mock_stat 'd["responses"], d["chat_completions"], d["messages"]')" "(8, 0, 0)" \
    "every request over /v1/responses"
expect_eq "$(row "$E/eval.jsonl" lookup 'r["outcome"], r["steps"], r["tool_calls"][0]["name"]')" \
    "('PASS', 2, 'lookup_order')" "function_call -> function_call_output -> answer"

# A Claude release that kept OpenAI's seed: refused at release time, naming file, line and field.
cp -r "$EVAL_FIX/agent-claude" "$T/seeded"
sed -i 's/^  max_tokens: 200/  max_tokens: 200\n  seed: 7/' "$T/seeded/agent.yaml"
mock_reset
sw run "$PIPES/eval_protocols.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.candidate=$T/seeded"
expect_rc 1 "versioning stops a Messages release with a seed"
expect_out "agent.yaml:10:3: error: parameter 'seed': provider 'anthropic' speaks Anthropic Messages, which refuses it" \
    "the error names the file, the line, the parameter and the provider"
expect_eq "$(mock_stat 'd["requests"]')" "0" "nothing was sent"

# Bad settings, said before any request.
sw run "$PIPES/eval_protocols.yaml" --set "vars.base_url=$MOCK_URL/v1" --set vars.target=claude
expect_rc 1 "an unknown target is refused"
expect_out "target 'claude': expected auto, openai, openai-responses, anthropic or http" "naming the choices"
sw run "$PIPES/eval_protocols.yaml" --set "vars.base_url=$MOCK_URL/v1" --set vars.judge_target=http
expect_rc 1 "an http judge is refused"
expect_out "judge_target 'http'" "naming the parameter"
finish
