#!/usr/bin/env bash
# One short, reproducible fuzz run for CTest:
#   run_target.sh FUZZER SEED_CORPUS RUNS ARTIFACT_DIR
# A fixed number of iterations from a fixed seed over the seed corpus. New inputs
# go to a scratch folder (removed after), never into the source tree; a crashing
# input is kept in ARTIFACT_DIR and the test fails.
set -euo pipefail
fuzzer=$1 seeds=$2 runs=$3 artifacts=$4
[ -d "$seeds" ] || { echo "no seed corpus at $seeds" >&2; exit 1; }
mkdir -p "$artifacts"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sw-fuzz-corpus-XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# A dictionary of the input's tokens (tests/fuzz/<target>.dict), when there is one.
dict=()
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$seeds")
[ -f "$here/$name.dict" ] && dict=(-dict="$here/$name.dict")
# LeakSanitizer checks every input (libFuzzer's -detect_leaks defaults to on with ASan).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    "$fuzzer" "${dict[@]}" -seed=1 -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$fuzzer")-" \
    "$scratch" "$seeds"
