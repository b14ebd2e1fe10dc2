#!/usr/bin/env bash
# scripts/demo-cluster.sh end to end with this build (no bootstrap, no build): the demo's story
# (tests/fixtures/demo/story.sh, as for scripts/demo.sh) told on PostgreSQL, two routers and
# HAProxy. Beyond the story: the runs and releases went to the database; both routers and the
# database show one route (the Claude release stable, no candidate, one route version); the
# traffic's pins reached the database; every process the demo started is gone, the PostgreSQL
# server and its folder included. Skips (77) without PostgreSQL 15 or HAProxy.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/demo/story.sh"
: "${SW_BUILD_DIR:?}"
[ -x /usr/lib/postgresql/15/bin/initdb ] && command -v haproxy >/dev/null ||
    { echo "skip: PostgreSQL 15 or HAProxy is not installed (scripts/bootstrap.sh --test)"; exit 77; }

run_demo demo-cluster.sh

# The cluster's closing look: each router's route, then the database's counts.
routes=$(printf '%s\n' "$out" | sed -n 's/^router on port [0-9]*: //p')
expect_eq "$(printf '%s\n' "$routes" | wc -l)" 2 "both routers answered"
expect_eq "$(printf '%s\n' "$routes" | sort -u | wc -l)" 1 "with one route: $(printf '%s\n' "$routes" | head -1)"
expect_eq "$(printf '%s\n' "$routes" | head -1 | cut -d, -f1-2)" "stable $claude, candidate None" \
    "the Claude release stable, no candidate"
version=$(printf '%s\n' "$routes" | head -1 | sed -n 's/.*route version //p')
db=$(printf '%s\n' "$out" | sed -n 's/^database: //p')
if [[ "$db" =~ ^([0-9]+)\ releases,\ 6\ runs,\ ([0-9]+)\ pinned\ conversations,\ route\ version\ ([0-9]+)$ ]] &&
    [ "${BASH_REMATCH[1]}" -ge 4 ] && [ "${BASH_REMATCH[2]}" -ge 100 ] && [ "${BASH_REMATCH[3]}" == "$version" ]; then
    ok "the database holds the releases, the six runs, the pins and the routers' route version ($db)"
else
    bad "database: '$db' (route version on the routers: '$version')"
fi
for n in 1 2; do
    grep -q "\"$claude\"" "$D/router-$n-state.json" && ok "router $n's saved state names the Claude release" ||
        bad "router $n's state"
done

check_stopped "mock router-1 router-2 haproxy traffic"
port=$(printf '%s\n' "$out" | sed -n 's|^store: postgresql://slipway@127.0.0.1:\([0-9]*\)/slipway.*|\1|p')
[ -n "$port" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
    ok "the PostgreSQL server (port $port) is stopped" || bad "PostgreSQL on port '$port' still answers"
# Its folder: the one whose postmaster.pid named that port (other tests' servers run beside).
left=$(for f in /tmp/sw-pg.*/data/postmaster.pid; do
    [ "$(sed -n 4p "$f" 2>/dev/null)" == "$port" ] && echo "${f%/data/postmaster.pid}"
done)
[ -z "$left" ] && ok "and its folder under /tmp is gone" || bad "left behind: $left"
grep -q "^traffic: " "$D/traffic.log" && ok "the traffic generator printed its summary" || bad "traffic.log"
finish
