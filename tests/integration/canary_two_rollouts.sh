#!/usr/bin/env bash
# Two `slipway run`s promoting the same agent at once, on one PostgreSQL store and one gateway
# router, as two CI jobs would: exactly one wins, the other fails saying why, and the loser's
# on_failure rollback leaves the winner's candidate alone.
#   1. P's canary holds the route at 100% waiting for approval; Q's canary takes the route.
#      P, approved, stops ("the route ... changed under the canary") and its rollback leaves
#      Q's candidate; Q is promoted.
#   2. S is versioned against stable Q and held before its canary; R is versioned, canaried
#      and promoted meanwhile. S's canary then runs, and its promotion is refused: stable is
#      R, not the Q it was judged against ("changed meanwhile ... in run R"); its rollback
#      takes its own candidate off the route.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/canary/lib.sh"
pg_router_start
export SLIPWAY_STORE="$DB" SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key

start_mock gw "$FIX/provider.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
swr releases set support-agent stable "$A" --reason "first"
expect_rc 0 "release $A is stable in the database"
gateway_config "$T/router.yaml"
sed -i "s|^store: .*|store: $DB|" "$T/router.yaml"
start_router "$T/router.yaml"

cat >"$T/pipeline.yaml" <<'YAML'
version: 1
name: two-rollouts
vars: {router: "", token: "", bundle: "", go: "", approve: ""}
stages:
  - id: release
    uses: versioning
    with: {bundle: "${vars.bundle}", allow_dirty: true}
  - id: held
    uses: wait_file
    with: {path: "${vars.go}"}
  - id: canary
    uses: canary
    with:
      router: ${vars.router}
      token_file: ${vars.token}
      agent: support-agent
      candidate: ${release.id}
      baseline: ${release.previous}
      steps: [{weight: 100, hold: 100ms}]
      approve_file: ${vars.approve}
      approve_timeout: 2m
on_failure:
  - id: rollback
    uses: rollback
    with: {router: "${vars.router}", token_file: "${vars.token}", agent: support-agent,
           sessions: drain}
YAML

# bundle NAME: a copy of the agent whose prompt carries its name (so a release of its own).
bundle() {
    cp -r "$T/bundle" "$T/$1"
    printf '\nROLLOUT %s\n' "$1" >>"$T/$1/prompts/system.md"
}
# start_run NAME: `slipway run` of bundle NAME in the background, held by $T/NAME.go and
# $T/NAME.approved; its pid in ${NAME}_PID, its output in $T/NAME.out.
start_run() {
    "$SLIPWAY" run "$T/pipeline.yaml" --set "vars.router=$URL" --set "vars.token=$T/token" \
        --set "vars.bundle=$T/$1" --set "vars.go=$T/$1.go" --set "vars.approve=$T/$1.approved" \
        --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/$1.out" 2>&1 &
    PIDS+=($!)
    eval "${1}_PID=$!"
}
# until_route EXPR: up to 60 s for a Python expression over the route (d) to hold.
until_route() {
    local i
    for i in $(seq 1 600); do
        [ "$(route_field "$1")" = True ] && return 0
        sleep 0.1
    done
    return 1
}
# release_of NAME: the release id its run made, from its output.
release_of() { sed -n 's/.*release \([0-9a-f]\{12\}\).*/\1/p' "$T/$1.out" | head -n 1; }

# ---- 1. the route taken by another canary ----
bundle P
bundle Q
touch "$T/P.go" "$T/Q.go"
start_run P
until_route 'd["candidate"] is not None and d["weight"] == 100' &&
    ok "P's canary holds the route at 100%, waiting for approval" || bad "P's canary: $body"
P=$(route_field 'd["candidate"]')
start_run Q
until_route "d['candidate'] not in (None, '$P') and d['weight'] == 100" &&
    ok "Q's canary takes the route" || bad "Q's canary: $body"
Q=$(route_field 'd["candidate"]')
grep -q "replacing the route's candidate $P" "$T/Q.out" && ok "Q says it replaced P" ||
    bad "Q's log lacks the replacement: $(cat "$T/Q.out")"
touch "$T/P.approved"
wait "$P_PID"
rc=$?
out=$(cat "$T/P.out")
[ "$rc" -ne 0 ] && ok "P, approved after losing the route, fails (exit $rc)" || bad "P exited 0"
expect_out "the route of 'support-agent' changed under the canary: candidate '$Q', not '$P'" \
    "P says another rollout took the route"
expect_out "left candidate $Q alone" "P's rollback leaves Q's candidate"
expect_eq "$(route_field '(d["candidate"], d["weight"])')" "('$Q', 100.0)" "the route still sends Q 100%"
swr releases channels support-agent --json
expect_eq "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stable"])')" \
    "$A" "stable is still A"
touch "$T/Q.approved"
wait "$Q_PID"
rc=$?
out=$(cat "$T/Q.out")
expect_rc 0 "Q is promoted"
expect_eq "$(route_field '(d["stable"], d["candidate"])')" "('$Q', None)" "the router serves Q"
expect_eq "$(channel stable)" "$Q" "the store's stable is Q"

# ---- 2. a promotion over a stable the candidate was not judged against ----
bundle R
bundle S
touch "$T/S.approved"
start_run S
for _ in $(seq 1 600); do
    [ -n "$(release_of S)" ] && journal_has "$(run_dir)" stage_start held 2>/dev/null && break
    sleep 0.1
done
S=$(release_of S)
[ -n "$S" ] && ok "S is versioned against stable Q ($S) and held before its canary" || bad "S: $(cat "$T/S.out")"
touch "$T/R.go" "$T/R.approved"
start_run R
wait "$R_PID"
rc=$?
out=$(cat "$T/R.out")
expect_rc 0 "R, versioned after S, is canaried and promoted first"
R=$(channel stable)
r_run=$(sed -n 's/.*run \([0-9]\{8\}-[0-9]\{6\}-[0-9a-f]*\).*/\1/p' "$T/R.out" | head -n 1)
touch "$T/S.go"
wait "$S_PID"
rc=$?
out=$(cat "$T/S.out")
[ "$rc" -ne 0 ] && ok "S fails its promotion (exit $rc)" || bad "S exited 0"
expect_out "channel 'stable' of 'support-agent' holds $R, not $Q as expected: it was changed meanwhile" \
    "S says stable moved since it was judged"
[ -n "$r_run" ] && expect_out "in run $r_run" "naming R's run" || bad "R's run id not found in: $(cat "$T/R.out")"
expect_eq "$(channel stable)" "$R" "the store's stable is still R"
expect_eq "$(route_field '(d["stable"], d["candidate"], d["weight"])')" "('$R', None, 0.0)" \
    "S's rollback took its candidate off the route; the router serves R"
router_done
finish
