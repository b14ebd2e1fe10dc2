#!/usr/bin/env bash
# kill -9 of the runner in the middle of a canary step, then `slipway resume`: the router's
# route is untouched while no runner is there, and the resumed run continues at the step the
# route is at (steps below it are not repeated) and promotes.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$CFIX/provider_good.yaml"
setup_releases
gateway_config "$T/router.yaml"
start_router "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: canary-resume
vars: {router: "", token: "", candidate: ""}
stages:
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${vars.candidate}
      steps: [5, {weight: 25, hold: 4s}, 100]
      hold: 200ms
YAML

"$SLIPWAY" run "$T/pipeline.yaml" --set "vars.router=$URL" --set "vars.token=$T/token" \
    --set "vars.candidate=$B" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/run.out" 2>&1 &
pid=$!
w=""
for _ in $(seq 1 200); do
    w=$(route_field 'd["weight"]')
    [ "$w" = "25.0" ] && break
    sleep 0.05
done
{ kill -9 $pid && wait $pid; } 2>/dev/null
expect_eq "$w" "25.0" "the canary reached its 25% step"
admin GET /admin/agents/support-agent/route
v=$(jget 'd["version"]')
sleep 1
expect_eq "$(route_field 'd["version"], d["candidate"], d["weight"]')" "($v, '$B', 25.0)" \
    "with the runner gone, the route stays as it was"

sw resume "$(last_run)"
expect_rc 0 "the resumed run finishes"
expect_out "resuming at step 2: the route already sends 25%" "it resumes at the 25% step"
expect_no_out "step 1/3" "the 5% step is not repeated"
expect_out "step 3/3: 100%" "then 100%"
expect_eq "$(route_field 'd["stable"], d["candidate"]')" "('$B', None)" "promoted in the router"
expect_eq "$(channel stable)/$(channel candidate)" "$B/None" "and in the store"
router_done
finish
