#!/usr/bin/env bash
# Install what is missing, build, and run the demo: a change to the support agent
# (examples/support-agent) taken through the release pipeline (pipelines/demo.yaml)
# twice. First the agent as it is: versioned, reviewed by a Lua policy, gated,
# then promoted to stable. Then a "cleanup" of a tool schema that every unit test
# would pass but that breaks the agent's callers: caught before anyone sees it.
# No API key and no external service: everything runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh >/dev/null
slipway="$PWD/${SLIPWAY_BUILD_DIR:-build}/bin/slipway"

demo="$PWD/.slipway/demo"
rm -rf "$demo"
mkdir -p "$demo"
export SLIPWAY_STATE_DIR="$demo/state"
cp -r examples/support-agent "$demo/support-agent"
bundle="$demo/support-agent"

echo
echo "== 1/2  the support agent as it is"
"$slipway" run pipelines/demo.yaml --set "vars.bundle=$bundle"
echo "-- promoting the candidate to stable (a canary stage does this after a clean rollout)"
"$slipway" releases set support-agent stable support-agent:candidate

echo
echo "== 2/2  a tool schema 'cleanup': issue_refund no longer accepts reason \"changed_mind\""
sed -i 's/"changed_mind", //' "$bundle/tools/issue_refund.json"
if "$slipway" run pipelines/demo.yaml --set "vars.bundle=$bundle"; then
    echo "demo: the breaking change was not caught" >&2
    exit 1
fi

echo
echo "== summary"
"$slipway" runs
"$slipway" releases channels support-agent
echo
echo "The second run failed on purpose: narrowing an enum breaks every caller that sends"
echo "the removed value. Reports: $SLIPWAY_STATE_DIR/runs/<run>/report.json"
echo "(slipway runs show RUN --state-dir $SLIPWAY_STATE_DIR)."
