#!/usr/bin/env bash
# Long fuzzing runs (docs/security.md, "Fuzzing"): build the fuzz targets in
# build-fuzz/ with clang and run each for MINUTES minutes over its seed corpus.
#   bench/fuzz.sh MINUTES [TARGET...]      e.g. bench/fuzz.sh 10 pipeline gate
# TARGET is a name under tests/fuzz/ without "fuzz_" (default: every target);
# tests/fuzz/TARGET.dict, when present, is given to libFuzzer as its dictionary.
# FUZZ_JOBS=N runs N targets at once (default 1); FUZZ_OUT=DIR keeps the results
# there instead of a new temporary folder.
#
# New corpus entries go to $out/<target>/corpus (the seed corpus in the source tree
# is only read); crashes, leaks, timeouts and out-of-memory inputs to
# $out/<target>/artifacts. A finding is fixed with a regression test in
# tests/unit/check_*.c and its input added to tests/fuzz/corpus/<target>/.
# Exit status: 0 when no target found anything.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: bench/fuzz.sh MINUTES [TARGET...]}
shift
build=${SLIPWAY_BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$build" -DSLIPWAY_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_targets -j "$(nproc)" >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        targets+=("${n#fuzz_}")
    done
fi
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/slipway-fuzz-XXXXXX")}
jobs=${FUZZ_JOBS:-1}
seconds=$((minutes * 60))
echo "fuzzing ${targets[*]} for $minutes min each, $jobs at a time; results in $out"

run_one() {
    local t=$1 bin="$build/bin/fuzz_$1"
    local dir="$out/$t"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is a memory bomb.
    local dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    "$bin" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        "$dir/corpus" "tests/fuzz/corpus/$t" >"$dir/log.txt" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
    [ -x "$build/bin/fuzz_$t" ] || { echo "no fuzz target '$t'" >&2; exit 2; }
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

found=0
printf '\n%-12s %10s %8s %s\n' target executions "new" findings
for t in "${targets[@]}"; do
    dir="$out/$t"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.txt" | tail -n 1)
    added=$(find "$dir/corpus" -type f | wc -l)
    findings=$(find "$dir/artifacts" -type f | wc -l)
    printf '%-12s %10s %8s %s\n' "$t" "${execs:-?}" "$added" "$findings"
    if [ "$findings" -gt 0 ]; then
        found=1
        for a in "$dir"/artifacts/*; do
            echo "  $a"
            echo "    reproduce: $build/bin/fuzz_$t $a"
        done
        grep -m 3 -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error)" "$dir/log.txt" | sed 's/^/    /' || true
    fi
done
echo "logs, new corpus entries and artifacts: $out"
exit $found
