#!/usr/bin/env bash
# Run every unit test under valgrind memcheck (no fork, so leaks are seen).
#   scripts/memcheck.sh [BUILD_DIR] [--router]
# --router: instead, the router's integration tests (tests/integration/router_*.sh) with
# every `slipway serve` under valgrind (SLIPWAY_WRAP, tests/integration/lib.sh): a memory
# error or a leak makes the router exit non-zero on SIGTERM, which the tests check.
# Tests run side by side, as many at once as there are cores (SW_MEMCHECK_JOBS to change).
set -uo pipefail
cd "$(dirname "$0")/.."
build=build
router=0
for a in "$@"; do
    case $a in
    --router) router=1 ;;
    *) build=$a ;;
    esac
done
build=$(cd "$build" && pwd)
VALGRIND="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"

# check_one NAME COMMAND...: run it with its output in NAME.memcheck.log; a failure leaves
# NAME.memcheck.failed behind.
check_one() {
    local name=$1
    shift
    rm -f "$build/$name.memcheck.failed"
    "$@" >"$build/$name.memcheck.log" 2>&1 || touch "$build/$name.memcheck.failed"
}

unit_test() {
    # SW_MEMCHECK: tests that fork helper processes leave those out (their helpers'
    # exits would count as leaks); they run in the plain and ASan passes.
    CK_FORK=no SW_MEMCHECK=1 SLIPWAY_NO_DLCLOSE=1 $VALGRIND --child-silent-after-fork=yes "$1"
}

router_test() {
    mkdir -p "$build/tests/tmp"
    SLIPWAY="$build/bin/slipway" SW_TEST_PLUGIN_DIR="$build/tests/plugins" SW_SOURCE_DIR="$PWD" \
        SW_BUILD_DIR="$build" SW_TEST_TMP="$build/tests/tmp" SLIPWAY_WRAP="$VALGRIND" bash "$1"
}

jobs_max=${SW_MEMCHECK_JOBS:-$(nproc)}
names=()
if [ "$router" -eq 1 ]; then
    what="router under valgrind"
    for t in tests/integration/router_*.sh; do names+=("$(basename "$t" .sh)"); done
else
    what="unit tests"
    for t in "$build"/bin/check_*; do names+=("$(basename "$t")"); done
fi
for name in "${names[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    if [ "$router" -eq 1 ]; then
        check_one "$name" router_test "tests/integration/$name.sh" &
    else
        check_one "$name" unit_test "$build/bin/$name" &
    fi
done
wait

failed=0
for name in "${names[@]}"; do
    [ -e "$build/$name.memcheck.failed" ] || continue
    failed=$((failed + 1))
    echo "memcheck: $name failed; see $build/$name.memcheck.log"
    grep -v '^ok' "$build/$name.memcheck.log" | tail -n 30
done
echo "memcheck ($what): $((${#names[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
