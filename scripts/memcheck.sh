#!/usr/bin/env bash
# Run every unit test under valgrind memcheck (no fork, so leaks are seen).
#   scripts/memcheck.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
passed=0
failed=0
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
