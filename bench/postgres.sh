# bench/postgres.sh - a PostgreSQL server (scripts/lib/postgres.sh, the one the tests and
# scripts/demo-cluster.sh use), for the benchmarks that need one (bench/store, bench/replicas).
# Source it with SRC (the checkout) and BENCH_NAME set: it makes the run's temp folder $D,
# starts the server (its URL in $SLIPWAY_TEST_PG_URL, as for the tests); at exit it kills
# $PIDS, stops the server and removes $D.
D=$(mktemp -d "/tmp/bench-$BENCH_NAME.XXXXXX")
PIDS=()
. "$SRC/scripts/lib/postgres.sh"
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    pg_stop
    rm -rf "$D"
}
trap cleanup EXIT
pg_launch || { echo "the PostgreSQL server did not start"; exit 1; }
export SLIPWAY_TEST_PG_URL="$PG_URL"
