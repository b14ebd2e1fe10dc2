# bench/postgres.sh - a PostgreSQL server from the test fixture, for the benchmarks that need
# one (bench/store, bench/replicas). Source it with SRC (the checkout) and BENCH_NAME set: it
# makes the run's temp folder $D (also the fixture's $T) and starts the server; at exit it
# kills $PIDS, stops the server and removes $D.
D=$(mktemp -d "/tmp/bench-$BENCH_NAME.XXXXXX")
# The fixture's own exit trap removes $T; ours (cleanup) replaces it once the server is up.
T=$D
PIDS=()
. "$SRC/tests/fixtures/postgres/lib.sh"
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    pg_stop
    rm -rf "$D"
}
pg_start || { echo "the PostgreSQL fixture did not start"; exit 1; }
trap cleanup EXIT
