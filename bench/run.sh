#!/usr/bin/env bash
# Run the core benchmarks and print their figures (recorded in BENCHMARKS.md).
# Everything is measured side by side in this one run; the machine is shared and
# noisy, so compare ratios within a run rather than figures across runs.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/bin/slipway" ] || scripts/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plugins="$build/tests/plugins"

echo "== context get/set (target >= 10,000,000/s)"
"$build/bin/bench_context"
echo "== gate evaluation (target >= 1,000,000/s)"
"$build/bin/bench_gate"
echo "== plugin load (target < 1 ms)"
"$build/bin/bench_loader" "$plugins/noop.so" 2000
echo "== check + run of 5 no-op stages, in process (target < 20 ms CPU)"
"$build/bin/bench_pipeline" bench/noop5.yaml "$plugins" "$tmp/state" 50
echo "== slipway mock: 10,000 requests, concurrency 64, 20 ms latency (limit 3,200/s)"
"$build/bin/bench_mock" 10000 64 20
echo "== the same as whole processes: slipway check, then slipway run"
python3 - "$build/bin/slipway" "$plugins" "$tmp/state2" <<'PY'
import os, resource, subprocess, sys, time
slipway, plugins, state = sys.argv[1:4]
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000
def measure(argv, n=30):
    c0, w0 = cpu(), time.monotonic()
    for _ in range(n):
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return (cpu() - c0) / n, (time.monotonic() - w0) * 1000 / n
env_cmd = ["env", "SLIPWAY_STATE_DIR=" + state]
base_cpu, base_wall = measure(["/bin/true"])
chk_cpu, chk_wall = measure([slipway, "check", "bench/noop5.yaml", "--plugin-path", plugins])
run_cpu, run_wall = measure(env_cmd + [slipway, "run", "bench/noop5.yaml", "--plugin-path", plugins])
print(f"process /bin/true            cpu {base_cpu:6.2f} ms  wall {base_wall:6.2f} ms")
print(f"process slipway check        cpu {chk_cpu:6.2f} ms  wall {chk_wall:6.2f} ms")
print(f"process slipway run (checks) cpu {run_cpu:6.2f} ms  wall {run_wall:6.2f} ms")
print(f"ratio run/true cpu {run_cpu / max(base_cpu, 1e-9):.1f}x; run cpu / 20 ms target = {run_cpu / 20:.2f}")
PY
echo "== the monitor's false alarms and power on simulated canaries (rates, not times)"
"$build/bin/bench_monitor_power" 2000
