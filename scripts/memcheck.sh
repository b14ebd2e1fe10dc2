#!/usr/bin/env bash
# Run every unit test under valgrind memcheck (no fork, so leaks are seen).
#   scripts/memcheck.sh [BUILD_DIR] [--router]
# --router: instead, the router's integration tests (tests/integration/router_*.sh) with
# every `slipway serve` under valgrind (SLIPWAY_WRAP, tests/integration/lib.sh): a memory
# error or a leak makes the router exit non-zero on SIGTERM, which the tests check.
# 1.5 to 3.5 minutes on two shared cores, so not part of scripts/test.sh (docs/security.md).
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
passed=0
failed=0
VALGRIND="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99"

if [ "$router" -eq 1 ]; then
    build=$(cd "$build" && pwd)
    mkdir -p "$build/tests/tmp"
    for t in tests/integration/router_*.sh; do
        name=$(basename "$t" .sh)
        if SLIPWAY="$build/bin/slipway" SW_TEST_PLUGIN_DIR="$build/tests/plugins" \
            SW_SOURCE_DIR="$PWD" SW_BUILD_DIR="$build" SW_TEST_TMP="$build/tests/tmp" \
            SLIPWAY_WRAP="$VALGRIND" bash "$t" >"$build/$name.memcheck.log" 2>&1; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            echo "memcheck: $name failed; see $build/$name.memcheck.log"
            grep -v '^ok' "$build/$name.memcheck.log" | tail -n 30
        fi
    done
    echo "memcheck (router under valgrind): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
fi
for t in "$build"/bin/check_*; do
    name=$(basename "$t")
    # SW_MEMCHECK: tests that fork helper processes leave those out (their helpers'
    # exits would count as leaks); they run in the plain and ASan passes.
    if CK_FORK=no SW_MEMCHECK=1 SLIPWAY_NO_DLCLOSE=1 valgrind -q --child-silent-after-fork=yes \
        --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 "$t" >"$build/$name.memcheck.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "memcheck: $name failed; see $build/$name.memcheck.log"
        tail -n 30 "$build/$name.memcheck.log"
    fi
done
echo "memcheck: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
