#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite four ways:
#   1. clang, -Werror: every Check unit test and CTest integration test
#      (real processes, real files, loopback only);
#   2. gcc with AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer:
#      the same suite again;
#   3. valgrind memcheck over every unit test, and over `slipway serve` in the router's
#      integration tests;
#   4. a short, fixed run of every libFuzzer target over its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test

# Four tests at a time on two cores: the integration tests spend most of their time waiting
# on holds, intervals and other processes, not computing.
echo "== 1/4 clang build, whole suite"
# DWARF 4: the valgrind of Debian 12 cannot read clang 14's DWARF 5.
CC=clang SLIPWAY_BUILD_DIR=build-clang scripts/build.sh -DCMAKE_C_FLAGS=-gdwarf-4
ctest --test-dir build-clang --output-on-failure -j 4 --timeout 300

echo "== 2/4 gcc build with ASan + UBSan, whole suite"
# Optimized, as scripts/build.sh builds for the demo: gcc's -O2 warnings (-Werror) show here.
CC=gcc SLIPWAY_BUILD_DIR=build-asan scripts/build.sh -DSLIPWAY_SANITIZE=ON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j 4 --timeout 300

echo "== 3/4 valgrind memcheck: unit tests, then the router's integration tests"
scripts/memcheck.sh build-clang
scripts/memcheck.sh build-clang --router

echo "== 4/4 libFuzzer targets, a short fixed run of each (docs/security.md)"
# Only the fuzz targets: SLIPWAY_FUZZ=ON builds nothing else in its folder.
CC=clang SLIPWAY_BUILD_DIR=build-fuzz scripts/build.sh -DSLIPWAY_FUZZ=ON
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j 2 --timeout 300
