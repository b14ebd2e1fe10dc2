#!/usr/bin/env bash
# Gateway mode on the PostgreSQL release store: the CLI makes releases in the database and a
# `slipway serve` on another folder reads them through `--store URL`, or through
# $SLIPWAY_STORE when router.yaml names no store.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/postgres/lib.sh"
pg_router_start

start_mock gw "$FIX/provider.yaml"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/bundle"
swr releases create "$T/bundle" --allow-dirty --json --store "$DB"
expect_rc 0 "release A in the database"
A=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
printf '\nCANARY MARK: this line is new in release B.\n' >>"$T/bundle/prompts/system.md"
swr releases create "$T/bundle" --allow-dirty --json --store "$DB"
B=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
swr releases set support-agent stable "$A" --store "$DB" --reason "first"
expect_rc 0 "stable := A in the database"
if [ -e "$SLIPWAY_STATE_DIR/releases" ]; then bad "no folder store was written"; else ok "no folder store was written"; fi

# No `store:`: the router's own folder knows nothing of the releases.
cat >"$T/router.yaml" <<YAML
listen: 127.0.0.1:0
state_file: $T/router-state.json
providers:
  openai: {base_url: "http://127.0.0.1:$gw_PORT/v1", api_key_env: SW_TEST_PROVIDER_KEY}
agents:
  support-agent:
    mode: gateway
    route: {stable: "support-agent:stable", candidate: "$B", weight: 0}
YAML
swr serve --config "$T/router.yaml"
expect_rc 2 "a gateway agent without any store is refused"
expect_out "serve --store or \$SLIPWAY_STORE" "the message says where the store is given"

export SW_TEST_PROVIDER_KEY=sk-test-not-a-real-key
start_router "$T/router.yaml" --store "$DB"
chat "p1" "where is my order?"
expect_eq "$status" 200 "serve --store URL: a request through the gateway"
expect_eq "$version" "support-agent:stable" "the stable channel answers"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "release prompt and tools" "with release A's prompt and tools, read from the database"
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["versions"]["support-agent:stable"]["release"]')" "$A" "the channel resolved to A's id"
admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 100}'
expect_eq "$status" 200 "candidate B at 100%"
chat "p2" "hello"
expect_eq "$version" "$B" "a new session gets B"
expect_eq "$(jget 'd["choices"][0]["message"]["content"]')" "canary prompt and tools" "with B's prompt"
router_done

# The same through $SLIPWAY_STORE, and a release made after the router started.
printf '\nANOTHER LINE\n' >>"$T/bundle/prompts/system.md"
swr releases create "$T/bundle" --allow-dirty --json --store "$DB"
C=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
out=""
rm -f "$T/router-state.json"
SLIPWAY_STORE="$DB" start_router "$T/router.yaml"
chat "p3" "hi"
expect_eq "$status" 200 "SLIPWAY_STORE names the router's store"
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["version"]')" 2 "without its state file, the router has the route from the database (shared.c)"
admin PUT /admin/agents/support-agent/route "{\"version\": 2, \"candidate\": \"$C\", \"weight\": 100}"
expect_eq "$status" 200 "a candidate released to the database after the router started"
expect_eq "$(jget 'd["versions"]["'"$C"'"]["release"]')" "$C" "resolved from the database"

# `slipway route --store`: changes among the releases the stored route has are made in the
# database and applied by the router; a release the route does not have yet needs a router
# (its providers) to resolve it, and is refused.
# wait_router EXPR WANT: poll the router's route (up to 20 s) until EXPR is WANT.
wait_router() {
    local i
    for i in $(seq 1 400); do
        admin GET /admin/agents/support-agent/route
        [ "$(jget "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
swr route set support-agent --candidate "$B" --weight 40 --store "$DB"
expect_rc 0 "route set --store: back to candidate B, a release the route has, at 40%"
wait_router 'd["candidate"] + "/" + str(int(d["weight"]))' "$B/40" && ok "the router applies it" || bad "the router applies it"
printf '\nYET ANOTHER LINE\n' >>"$T/bundle/prompts/system.md"
swr releases create "$T/bundle" --allow-dirty --json --store "$DB"
D=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
swr route set support-agent --candidate "$D" --store "$DB"
expect_rc 1 "a release the stored route does not have is refused with --store"
expect_out "'$D' is not a release the stored route has" "naming it"
expect_out "add it through a router (--router)" "and saying where to go"
swr route set support-agent --candidate "$D" --router "$URL"
expect_rc 0 "through the router it is resolved"
swr route rollback support-agent --sessions migrate --store "$DB"
expect_rc 0 "a rollback --store of a gateway agent"
wait_router 'str(d["candidate"]) + "/" + str(int(d["weight"]))' "None/0" && ok "the router applies it" || bad "the router applies the rollback"
router_done
grep -q "$PGPASSWORD" "$T/router.log" && bad "the password is in the router's log" || ok "the password is never logged"
finish
