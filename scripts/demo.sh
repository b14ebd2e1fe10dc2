#!/usr/bin/env bash
# Install what is missing, build, and run the demo pipeline (pipelines/demo.yaml).
# No API key and no external service: everything runs on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh
build=${SLIPWAY_BUILD_DIR:-build}
export SLIPWAY_STATE_DIR=${SLIPWAY_STATE_DIR:-$PWD/.slipway}
"$build/bin/slipway" run pipelines/demo.yaml --plugin-path "$build/tests/plugins" "$@"
