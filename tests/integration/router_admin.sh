#!/usr/bin/env bash
# The admin API needs the token (compared in constant time); /metrics and traffic do not; a
# non-loopback listen address needs a token file.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
printf 'correct-horse-battery-staple-0001\n' >"$T/admin.token"
two_versions_config "$T/router.yaml" "admin: {token_file: $T/admin.token}"
start_router "$T/router.yaml"

TOKEN=
admin GET /admin/agents/support-agent/route
expect_eq "$status" 401 "no token: 401"
expect_eq "$(jget 'd["error"]["type"]')" authentication_error "an authentication error"
TOKEN=correct-horse-battery-staple-0002
admin GET /admin/agents/support-agent/route
expect_eq "$status" 401 "a wrong token: 401"
TOKEN=correct-horse-battery-staple-000
admin GET /admin/agents/support-agent/route
expect_eq "$status" 401 "a prefix of the token: 401"
TOKEN=correct-horse-battery-staple-0001
admin GET /admin/agents/support-agent/route
expect_eq "$status" 200 "the token: 200"
admin PUT /admin/agents/support-agent/route '{"version": 1, "weight": 5}'
expect_eq "$status" 200 "a change with the token"
TOKEN=
admin PUT /admin/agents/support-agent/route '{"version": 2, "weight": 50}'
expect_eq "$status" 401 "a change without it: 401"
admin POST /admin/agents/support-agent/rollback '{}'
expect_eq "$status" 401 "a rollback without it: 401"

chat "c1" "hi"
expect_eq "$status" 200 "traffic needs no token"
body=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$URL/metrics")
expect_eq "$body" 200 "/metrics needs no token"

swr routes support-agent --router "$URL"
expect_rc 1 "the CLI without a token"
expect_out "401" "says 401"
swr routes support-agent --router "$URL" --token-file "$T/admin.token"
expect_rc 0 "the CLI with --token-file"
SLIPWAY_ROUTER_TOKEN=correct-horse-battery-staple-0001 swr route set support-agent --weight 7 --router "$URL"
expect_rc 0 "the CLI with \$SLIPWAY_ROUTER_TOKEN"
# A folder store holds no router's routes: --store DIR is refused, saying where to go instead
# (a postgres:// store's shared table: tests/integration/route_store_postgres.sh).
swr routes support-agent --router "$URL" --store "$T/somewhere"
expect_rc 2 "routes --store DIR is refused"
expect_out "is a folder store, which holds no running router's routes" "saying a folder holds no routes"
expect_out "--router URL" "and what does"
SLIPWAY_STORE="$T/somewhere" swr route set support-agent --weight 8 --router "$URL" --token-file "$T/admin.token"
expect_rc 0 "route set ignores a folder \$SLIPWAY_STORE"
swr route pin support-agent s-1 v1 --store "$T/somewhere" --router "$URL" --token-file "$T/admin.token"
expect_rc 2 "route pin --store is refused too"
stop_router

# Non-loopback without a token file: refused before listening.
two_versions_config "$T/open.yaml" "admin: {token_env: SW_TEST_ENV_TOKEN}"
sed -i 's/^listen: .*/listen: 0.0.0.0:0/' "$T/open.yaml"
SW_TEST_ENV_TOKEN=an-env-token-long-enough swr serve --config "$T/open.yaml"
expect_rc 2 "0.0.0.0 without a token file is refused"
expect_out "refusing to listen on 0.0.0.0" "and says why"
# The token never goes in the config.
two_versions_config "$T/inline.yaml" "admin: {token: abcdefabcdefabcdef}"
swr serve --config "$T/inline.yaml"
expect_rc 2 "an inline token is refused"
expect_out "never written in the config" "and says why"
router_done
finish
