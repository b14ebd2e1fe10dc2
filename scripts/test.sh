#!/usr/bin/env bash
# Install what is missing, build, and run the whole test suite: Check unit tests
# and CTest integration tests (real processes, real files, loopback only).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
scripts/build.sh
cd "${SLIPWAY_BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 300
