#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite four ways:
#   1. clang, -Werror: every Check unit test and CTest integration test
#      (real processes, real files, loopback only) but the end-to-end stories (label e2e:
#      the demo, the regressions it must catch and the cluster demo, minutes each of canary
#      evidence);
#   2. gcc with AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
#      the same suite again, the end-to-end stories included, so every test runs at least
#      once and the longest under the sanitizers;
#   3. valgrind memcheck over every unit test, and over `slipway serve` in the router's
#      integration tests;
#   4. a short, fixed run of every libFuzzer target over its seed corpus.
# All four run from a copy of the checkout at a path over 200 characters long (under
# build-deep/), as a CI runner's nested workspace can be: no diagnostic, socket or test may
# depend on a short checkout path. SLIPWAY_TEST_HERE=1 runs them where the checkout is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test

if [ -z "${SLIPWAY_TEST_HERE:-}" ]; then
    deep=$PWD/build-deep
    while [ ${#deep} -lt 210 ]; do deep=$deep/nested-runner-workspace; done
    deep=$deep/slipway
    mkdir -p "$deep"
    # A fresh copy of the sources (tracked and new files, as git sees them), with their
    # times kept so that the build folders beside them stay incremental.
    find "$deep" -mindepth 1 -maxdepth 1 ! -name 'build-*' -exec rm -rf {} +
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c \
            'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
            tar --null -T - -cf - | tar -C "$deep" -xf -
    else
        tar --exclude='./build*' -cf - . | tar -C "$deep" -xf -
    fi
    echo "== running from $deep (${#deep} characters)"
    SLIPWAY_TEST_HERE=1 exec "$deep/scripts/test.sh" "$@"
fi

# Four tests at a time on two cores: the integration tests spend most of their time waiting
# on holds, intervals and other processes, not computing.
stamp() { echo "== $(date -u +%T) $*"; }
stamp "1/4 clang build, whole suite but the end-to-end stories"
# DWARF 4: the valgrind of Debian 12 cannot read clang 14's DWARF 5.
CC=clang SLIPWAY_BUILD_DIR=build-clang scripts/build.sh -DCMAKE_C_FLAGS=-gdwarf-4
ctest --test-dir build-clang --output-on-failure -j 4 --timeout 300 -LE e2e

stamp "2/4 gcc build with ASan + UBSan, whole suite"
# Optimized, as scripts/build.sh builds for the demo: gcc's -O2 warnings (-Werror) show here.
CC=gcc SLIPWAY_BUILD_DIR=build-asan scripts/build.sh -DSLIPWAY_SANITIZE=ON
# One more at a time: the three stories start first (their COST) and mostly wait.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j 5 --timeout 300

stamp "3/4 valgrind memcheck: unit tests, then the router's integration tests"
scripts/memcheck.sh build-clang
scripts/memcheck.sh build-clang --router

stamp "4/4 libFuzzer targets, a short fixed run of each (docs/security.md)"
# Only the fuzz targets: SLIPWAY_FUZZ=ON builds nothing else in its folder.
CC=clang SLIPWAY_BUILD_DIR=build-fuzz scripts/build.sh -DSLIPWAY_FUZZ=ON
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j 2 --timeout 300
stamp "done"
