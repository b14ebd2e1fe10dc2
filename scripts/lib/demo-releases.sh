# scripts/lib/demo-releases.sh - parts 2 to 5 of the demo's story and its summary, sourced by
# scripts/demo.sh and scripts/demo-cluster.sh after scripts/lib/demo.sh's demo_begin and
# demo_first_release, with the router(s) up: $router is where the users and the rollout stages
# go (the router, or the load balancer in front of the replicas); $routers, when set, is a YAML
# list of every replica's URL for the monitor (it sums their stats); $logs names the logs.
"$slipway" traffic --router "$router" --agent support-agent --users 8 --rate 20 --duration 0 \
    --seed 42 --tools "$bundle/tools" >"$demo/traffic.log" 2>&1 &
traffic_pid=$!
pids+=($traffic_pid)
echo "traffic: 20 new sessions/s, 2 to 4 turns each (log: $demo/traffic.log)"

release() {
    local watch=()
    [ -n "${routers:-}" ] && watch=(--set "vars.routers=$routers")
    "$slipway" run pipelines/release.yaml --set "vars.bundle=$bundle" --set "vars.router=$router" \
        --set "vars.token=$demo/router.token" --set "vars.model_url=http://127.0.0.1:$mock_port/v1" \
        "${watch[@]}" "$@"
}

step "2/5  a good change (a friendlier sign-off): eval -> shadow -> canary 25/50/100 on evidence -> promoted"
printf '\nEnd every conversation by wishing the customer a good day.\n' >>"$bundle/prompts/system.md"
release
good_run=$(newest_run)
good=$("$slipway" releases channels support-agent --json |
    sed -n 's/.*"stable": *"\([0-9a-f]*\)".*/\1/p')

step "3/5  a regressed change: it passes the golden set, but fails tool calls under live traffic"
cp "$bundle/prompts/system.md" "$demo/system.good.md"
printf '\nWhen you look up an order, quote its number without the NW- prefix: customers find it friendlier.\n' \
    >>"$bundle/prompts/system.md"
if release; then
    echo "demo: the regressed release was promoted; the monitor should have caught it" >&2
    exit 1
fi
bad_run=$(newest_run)

step "4/5  a tool schema 'cleanup': issue_refund no longer accepts reason \"changed_mind\""
cp "$demo/system.good.md" "$bundle/prompts/system.md"
cp "$bundle/tools/issue_refund.json" "$demo/issue_refund.good.json"
sed -i 's/"changed_mind", //' "$bundle/tools/issue_refund.json"
if release; then
    echo "demo: the breaking change was not caught" >&2
    exit 1
fi
schema_run=$(newest_run)

step "5/5  a model upgrade: GPT-4o -> Claude (claude-haiku-4-5-20251001, pinned), an ordinary release"
# The tool schema as production has it; the model, its prices, and the parameters: written in
# OpenAI's names, said in Messages' terms by the router and the eval. Anthropic Messages has no
# seed: versioning refuses the release at its line in agent.yaml before anything else runs.
cp "$demo/issue_refund.good.json" "$bundle/tools/issue_refund.json"
sed -i 's/^  provider: openai/  provider: anthropic/; s/^  name: gpt-4o-2024-08-06/  name: claude-haiku-4-5-20251001/
        s/^  input_per_token: .*/  input_per_token: 0.000001/; s/^  output_per_token: .*/  output_per_token: 0.000005/
        s/^  cached_input_per_token: .*/  cached_input_per_token: 0.0000001/' "$bundle/agent.yaml"
if release; then
    echo "demo: a release on Anthropic with seed: 7 was not refused" >&2
    exit 1
fi
seed_run=$(newest_run)
sed -i '/^  seed: 7$/d' "$bundle/agent.yaml"
# The mock's counts from here on: the eval's Messages calls plus the application's Chat
# Completions requests that the router translated.
http_get() { command -v curl >/dev/null && curl -fsS "$@" 2>/dev/null; }
command -v curl >/dev/null && curl -fsS -X POST "http://127.0.0.1:$mock_port/mock/reset" >/dev/null 2>&1 || true
# Its eval measures it at well under half stable's cost per case; live, the monitor rules out
# a +10% rise in cost per session long before it could have detected one.
release
claude_run=$(newest_run)
http_get "http://127.0.0.1:$mock_port/mock/stats" >"$demo/mock-claude.json" || true

kill -TERM "$traffic_pid" 2>/dev/null || true
wait "$traffic_pid" 2>/dev/null || true

step "summary ($(($(date +%s) - started)) s)"
command -v python3 >/dev/null || "$slipway" runs
python3 - "$SLIPWAY_STATE_DIR/runs" "$good_run" "$bad_run" "$schema_run" "$seed_run" "$claude_run" \
    "$demo/mock-claude.json" <<'PY' 2>/dev/null || true
import json, sys
root = sys.argv[1]
def out(run, key):
    d = json.load(open(f"{root}/{run}/report.json"))
    v = d.get("outputs", {}).get(key)
    return v["value"] if v else None
def failure(run):
    d = json.load(open(f"{root}/{run}/report.json"))
    f = d.get("failure") or {}
    return f.get("stage"), f.get("reason")
g, b, s, seeded, c, stats = sys.argv[2:8]
print(f"good change     {out(g, 'release.id')}: golden {out(g, 'golden.passed')}/{out(g, 'golden.cases')} passed, "
      f"canary {out(g, 'canary.steps_done')} steps, promoted={out(g, 'canary.promoted')}, "
      f"monitor {out(g, 'watch.verdict')}")
stage, reason = failure(b)
print(f"regressed change {out(b, 'release.id')}: golden {out(b, 'golden.passed')}/{out(b, 'golden.cases')} passed, "
      f"stopped by '{stage}' {float(out(b, 'rollback.detection_ms') or 0) / 1000:.1f} s into the canary, "
      f"rolled back to {out(b, 'rollback.to')} (pinned sessions drain)")
print(f"                 why: {reason}")
stage, reason = failure(s)
print(f"schema change    stopped by '{stage}': {reason}")
stage, reason = failure(seeded)
print(f"Claude, seed: 7  stopped by '{stage}': {reason.splitlines()[0] if reason else reason}")
summary = json.load(open(f"{root}/{c}/artifacts/golden/eval-summary.json"))["provenance"]
print(f"Claude release   {out(c, 'release.id')}: golden {out(c, 'golden.passed')}/{out(c, 'golden.cases')} passed "
      f"over {summary['candidate_protocol']} (stable over {summary['baseline_protocol']}), "
      f"cost per case ${out(c, 'golden.cost_per_case_usd'):.6f} vs ${out(c, 'golden.baseline_cost_per_case_usd'):.6f}, "
      f"canary {out(c, 'canary.steps_done')} steps, promoted={out(c, 'canary.promoted')}, monitor {out(c, 'watch.verdict')}")
try:
    m = json.load(open(stats))
    steps = sum(json.loads(l)["steps"] for l in open(f"{root}/{c}/artifacts/golden/eval.jsonl"))
    print(f"                 the users' application spoke Chat Completions throughout: "
          f"{m['messages'] - steps} of its requests went to Claude over Anthropic Messages, translated by the router")
except Exception:
    pass
PY
echo
grep -h '^traffic:' "$demo/traffic.log" || true
"$slipway" releases channels support-agent | sed -n '1,3p'
echo
echo "Reports (open them in a browser; or slipway runs show RUN-ID --state-dir $SLIPWAY_STATE_DIR):"
echo "  first:     $SLIPWAY_STATE_DIR/runs/$first_run/report.html"
echo "  good:      $SLIPWAY_STATE_DIR/runs/$good_run/report.html"
echo "  regressed: $SLIPWAY_STATE_DIR/runs/$bad_run/report.html"
echo "  schema:    $SLIPWAY_STATE_DIR/runs/$schema_run/report.html"
echo "  claude:    $SLIPWAY_STATE_DIR/runs/$claude_run/report.html"
echo "Logs: $logs"
