#!/usr/bin/env bash
# Install what is missing, build, and run the demo: changes to the support agent
# (examples/support-agent) taken to production through the release pipeline
# (pipelines/release.yaml) with live traffic, all on this machine:
#
#   slipway mock     plays both model providers, OpenAI and Anthropic, and the eval's judge
#                    (pipelines/demo/mock.yaml)
#   slipway serve    the router in gateway mode, in front of the mock
#   slipway traffic  simulated users in multi-turn sessions through the router, reporting
#                    tool calls and task outcomes as events
#
# Then: the agent as it is becomes stable; a good change is evaluated, shadowed, ramped
# 25/50/100% while the monitor watches, and promoted once the monitor has had the samples to
# see each regression the pipeline declares (about a minute at 20 sessions/s); a regressed change passes the golden
# set but fails tool calls under live traffic: the monitor catches it mid-canary and the
# router is rolled back (pinned sessions drain); a breaking tool schema change is stopped
# before any user sees it; and a model upgrade is a release too: the agent moves from GPT-4o to
# a pinned Claude model (versioning, eval over Anthropic Messages beside production over Chat
# Completions, canary, promotion) while the users' application keeps speaking Chat Completions
# (the router translates). No API key, no external service, loopback only; the mock plays both
# providers.
#
# The story is scripts/lib/demo.sh and scripts/lib/demo-releases.sh; scripts/demo-cluster.sh
# tells it again on PostgreSQL, HAProxy and two routers.
#
# SLIPWAY_BUILD_DIR (default build) is where the binary is; SLIPWAY_DEMO_DIR (default
# .slipway/demo) where everything the demo writes goes; SLIPWAY_DEMO_SKIP_BUILD=1 skips the
# bootstrap and the build (the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SLIPWAY_DEMO_SKIP_BUILD:-}" != 1 ]; then
    scripts/bootstrap.sh
    scripts/build.sh >/dev/null
fi
demo=${SLIPWAY_DEMO_DIR:-$PWD/.slipway/demo}
. scripts/lib/demo.sh
demo_begin
demo_first_release

step "starting the router (slipway serve, gateway mode) and the users (slipway traffic)"
demo_router_config "$demo/router.yaml" "$SLIPWAY_STATE_DIR" "$demo/router-state.json"
"$slipway" serve --config "$demo/router.yaml" --port-file "$demo/router.port" -q \
    >"$demo/router.log" 2>&1 &
pids+=($!)
router="http://127.0.0.1:$(wait_port "$demo/router.port" router)"
echo "router: $router (support-agent -> $stable)"
logs="$demo/{mock,router,traffic}.log"
. scripts/lib/demo-releases.sh
