#!/usr/bin/env bash
# The README's first command, scripts/demo.sh, end to end with this build (no bootstrap, no
# build): it exits 0; the good change is promoted (the store's stable is it, no candidate; the
# router serves it); the regressed change passes the golden set, is stopped by the monitor
# during the canary, named in failure.reason, and rolled back with drain; the breaking schema
# change is stopped by versioning; the move to Claude is refused while it keeps OpenAI's seed,
# then evaluated over Anthropic Messages beside stable over Chat Completions, canaried and
# promoted, the users' Chat Completions application served through the router's translation;
# every process the demo started is gone. No timing
# assertions: the demo itself waits for conditions (ports, sessions), never for the clock.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/demo/story.sh"
: "${SW_BUILD_DIR:?}"

run_demo demo.sh

# The store: the Claude release is stable, nothing is a candidate.
out=$("$SLIPWAY" releases channels support-agent --json 2>&1)
expect_eq "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["stable"], d["candidate"])')" \
    "$claude None" "the store: stable is the Claude release, no candidate"

# The router's saved state names the Claude release.
if grep -q "\"$claude\"" "$D/router-state.json"; then ok "the router's state names the Claude release"; else bad "router state"; fi

check_stopped "mock router traffic"
grep -q "^traffic: " "$D/traffic.log" && ok "the traffic generator printed its summary" || bad "traffic.log"
finish
