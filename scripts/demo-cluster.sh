#!/usr/bin/env bash
# scripts/demo.sh's story (docs in it) told again as a team would run it in production: the
# state on PostgreSQL and the router as two replicas behind a load balancer, all on this
# machine, on free loopback ports:
#
#   PostgreSQL       a throwaway server in a temp folder under /tmp (scripts/lib/postgres.sh; as
#                    the `postgres` user when run as root), removed at the end: the release
#                    store, the runs, and the routers' shared route table and pins
#   slipway serve    two replicas in gateway mode on that database (store: postgres://...)
#   HAProxy          in front of them, round robin, no affinity: each request may reach either
#                    replica; the users, the canary and the rollback go through it
#   slipway traffic  the simulated users, through HAProxy
#
# The monitor watches both replicas (vars.routers) and sums their counts; pinned conversations
# keep their version whichever replica answers. No API key, no external service.
#
# Needs PostgreSQL 15 and HAProxy from Debian (scripts/bootstrap.sh --cluster installs them,
# without starting their services; --test does too). SLIPWAY_BUILD_DIR (default build) is where
# the binary is; SLIPWAY_DEMO_DIR (default .slipway/demo-cluster) where the runs, reports and
# logs go; SLIPWAY_DEMO_SKIP_BUILD=1 skips the bootstrap and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SLIPWAY_DEMO_SKIP_BUILD:-}" != 1 ]; then
    scripts/bootstrap.sh --cluster
    scripts/build.sh >/dev/null
fi
demo=${SLIPWAY_DEMO_DIR:-$PWD/.slipway/demo-cluster}
. scripts/lib/postgres.sh
. scripts/lib/haproxy.sh
. scripts/lib/demo.sh
# After the processes (scripts/lib/demo.sh's exit trap): the database server and its folder.
demo_stop_more() { pg_stop; }
demo_begin

step "starting PostgreSQL (a throwaway server on loopback, its folder under /tmp)"
pg_launch
export SLIPWAY_STORE=$PG_URL
"$slipway" store init
echo "store: $PG_URL (PGPASSWORD in the environment, never in the URL)"

demo_first_release

step "starting two routers on the database, HAProxy in front of them, and the users"
ports=()
for n in 1 2; do
    demo_router_config "$demo/router-$n.yaml" "$PG_URL" "$demo/router-$n-state.json"
    "$slipway" serve --config "$demo/router-$n.yaml" --port-file "$demo/router-$n.port" -q \
        >"$demo/router-$n.log" 2>&1 &
    pids+=($!)
    ports+=("$(wait_port "$demo/router-$n.port" "router-$n")")
    echo "router $n: http://127.0.0.1:${ports[-1]} (support-agent -> $stable)"
done
haproxy_start "$demo" "${ports[@]}"
pids+=($HAPROXY_PID)
router=$HAPROXY_URL
routers="[\"http://127.0.0.1:${ports[0]}\", \"http://127.0.0.1:${ports[1]}\"]"
echo "HAProxy: $router (round robin over both routers)"
logs="$demo/{mock,router-1,router-2,haproxy,traffic}.log"
. scripts/lib/demo-releases.sh

step "the cluster: both routers and the database agree"
python3 - "$demo/router.token" "${ports[@]}" <<'PY' || true
import json, sys, urllib.request
token = open(sys.argv[1]).read().strip()
for port in sys.argv[2:]:
    rq = urllib.request.Request(f"http://127.0.0.1:{port}/admin/agents/support-agent/route",
                                headers={"Authorization": f"Bearer {token}"})
    d = json.load(urllib.request.urlopen(rq, timeout=10))
    print(f"router on port {port}: stable {d['stable']}, candidate {d['candidate']}, route version {d['version']}")
PY
"$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U slipway -d slipway -Atc \
    "SELECT 'database: ' || (SELECT count(*) FROM slipway.releases) || ' releases, '
            || (SELECT count(*) FROM slipway.runs) || ' runs, '
            || (SELECT count(*) FROM slipway.pins) || ' pinned conversations, route version '
            || (SELECT version FROM slipway.routes WHERE agent = 'support-agent')" || true
