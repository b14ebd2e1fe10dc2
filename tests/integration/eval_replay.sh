#!/usr/bin/env bash
# Record, then replay with the server gone: eval.jsonl is the same line for
# line (but for the timing fields, and the mark that says replayed), latencies
# and costs are the recorded ones; a request never recorded is an ERROR.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/eval/mock.sh"

C="$T/cache"
start_mock "$EVAL_FIX/mock-agent.yaml"
sw run "$PIPES/eval_replay.yaml" --set "vars.base_url=$MOCK_URL/v1" --set "vars.cache_dir=$C"
expect_rc 0 "record"
REC=$(eval_dir)
recorded=$(mock_stat 'd["requests"]')
judged=$(mock_stat 'd["by_rule"]["judge-pass"] + d["by_rule"]["judge-fail"] + d["by_rule"]["judge-garbled"]')
stop_mock
# Target requests differ by sample; a judge sees the same output in both samples
# (the mock answers alike), the same request, so one entry serves both.
n_files=$(find "$C" -name '*.json' | wc -l | tr -d ' ')
expect_eq "$n_files" "$((recorded - judged / 2))" "one cache entry per distinct request"

# Replay against a port nothing listens on: every answer comes from the cache.
sw run "$PIPES/eval_replay.yaml" --set "vars.base_url=http://127.0.0.1:9/v1" --set "vars.cache_dir=$C" --set vars.cache=replay
expect_rc 0 "replay with no server at all"
REP=$(eval_dir)

python3 - "$REC/eval.jsonl" "$REP/eval.jsonl" <<'PY' && ok "eval.jsonl is identical but for timing and the replay mark" || bad "replay differs"
import json, sys
def rows(path, replayed):
    out = {}
    for line in open(path):
        r = json.loads(line)
        assert r.pop("replayed") is replayed, (r["case"], replayed)
        r.pop("timing")
        out[(r["case"], r["sample"])] = r
    return out
a, b = rows(sys.argv[1], False), rows(sys.argv[2], True)
assert len(a) == 12, len(a)
assert a.keys() == b.keys()
for k in a:
    assert a[k] == b[k], (k, a[k], b[k])
PY

S="$REP/eval-summary.json"
expect_eq "$(json "$S" 'd["http"]["target"]["attempts"] + d["http"]["judge"]["attempts"]')" "0" "nothing went over the network"
expect_eq "$(json "$S" 'd["http"]["target"]["cache_hits"] + d["http"]["judge"]["cache_hits"]')" "$recorded" "every request was a cache hit"
for k in pass_rate latency_p50_ms latency_p95_ms cost_usd tokens_in; do
    expect_eq "$(json "$S" "d['outputs']['$k']")" "$(json "$REC/eval-summary.json" "d['outputs']['$k']")" "$k replays as recorded"
done

# A case never recorded: a cache miss is an ERROR, not a silent request.
cp "$EVAL_FIX/agent.jsonl" "$T/more.jsonl"
echo '{"id": "new", "input": "echo: never recorded", "assert": [{"type": "contains", "value": "never"}]}' >>"$T/more.jsonl"
sw run "$PIPES/eval_replay.yaml" --set "vars.base_url=http://127.0.0.1:9/v1" --set "vars.cache_dir=$C" --set vars.cache=replay --set "vars.dataset=$T/more.jsonl"
E=$(eval_dir)
expect_eq "$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(sorted({x["outcome"] + ": " + x.get("error","")[:10] for x in r if x["case"]=="new"}))' "$E/eval.jsonl")" "['ERROR: cache miss']" "the unrecorded case is an ERROR: cache miss"
expect_eq "$(json "$E/eval-summary.json" 'd["http"]["target"]["cache_misses"]')" "2" "two misses (two samples)"

finish
