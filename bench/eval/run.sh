#!/usr/bin/env bash
# bench/eval/run.sh [BUILD_DIR] [CASES] [CONCURRENCY] [LATENCY]
#
# The eval stage against `slipway mock`: CASES single-turn cases (default
# 10,000), each answered after LATENCY (default 20ms), CONCURRENCY requests in
# flight (default 64). The physical limit is CONCURRENCY / LATENCY cases per
# second (64 / 0.020 s = 3,200/s). Prints the eval's own throughput (from
# eval-summary.json), the whole `slipway run`'s wall time, and its peak RSS
# (from /usr/bin/time -v). The release is examples/support-agent, so every
# request carries its real system prompt and three tool schemas (~5 KB).
#
# With PROMPTFOO=1 it also runs promptfoo (npm install promptfoo into a
# temporary folder, or the install in PROMPTFOO_DIR) on the same cases, mock
# and concurrency, and prints the same figures for it.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
N=${2:-10000}
C=${3:-64}
LAT=${4:-20ms}
SW="$BUILD/bin/slipway"
[ -x "$SW" ] || { echo "no slipway binary at $SW (build first)"; exit 2; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (GNU time) for the peak RSS"; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-eval.XXXXXX")
MOCK=
cleanup() {
    [ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null && wait "$MOCK" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

python3 - "$T/cases.jsonl" "$N" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"id": "c%06d" % i, "input": "Question number %d about my order" % i,
                            "assert": [{"type": "contains", "value": "number %d " % i}]}) + "\n")
PY

cat >"$T/mock.yaml" <<YAML
seed: 1
models: [gpt-4o-2024-08-06]
defaults:
  latency: $LAT
  respond: {text: "You asked: {{user}} - here is the answer."}
YAML

cat >"$T/pipeline.yaml" <<YAML
version: 1
name: bench-eval
vars:
  base_url: http://127.0.0.1:9/v1
stages:
  - id: release
    uses: versioning
    with: { bundle: $ROOT/examples/support-agent, allow_dirty: true }
  - id: golden
    uses: eval
    with:
      release: \${release.manifest}
      dataset: $T/cases.jsonl
      base_url: \${vars.base_url}
      concurrency: $C
      timeout: 30s
YAML

"$SW" mock --scenario "$T/mock.yaml" --port-file "$T/port" >"$T/mock.log" 2>&1 &
MOCK=$!
for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
URL="http://127.0.0.1:$(cat "$T/port")"

/usr/bin/time -v "$SW" run "$T/pipeline.yaml" --state-dir "$T/state" \
    --set "vars.base_url=$URL/v1" >"$T/run.out" 2>"$T/time.out"
rc=$?
[ $rc -eq 0 ] || { echo "slipway run failed ($rc):"; cat "$T/run.out" "$T/time.out"; exit 1; }
SUM=$(ls "$T"/state/runs/*/artifacts/golden/eval-summary.json)
python3 - "$SUM" "$T/time.out" "$N" "$C" "$LAT" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1)
parts = [float(x) for x in wall.split(":")]
wall_s = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
n, c = int(sys.argv[3]), int(sys.argv[4])
lat = sys.argv[5]
lat_s = float(lat[:-2]) / 1000 if lat.endswith("ms") else float(lat.rstrip("s"))
limit = c / lat_s
o = s["outputs"]
cps = s["cases_per_second"]
print(f"slipway eval: {o['cases']} cases, {o['passed']} passed, {o['errors']} errors")
print(f"  eval throughput     {cps:,.0f} cases/s  ({cps / limit:.2f} of the {limit:,.0f}/s limit)")
print(f"  eval time           {s['elapsed_ms'] / 1000:.2f} s; whole slipway run {wall_s:.2f} s wall")
print(f"  peak RSS            {rss / 1024:.1f} MiB (whole process)")
print(f"  latency p50 / p95   {o['latency_p50_ms']:.1f} / {o['latency_p95_ms']:.1f} ms")
print(f"  http attempts       {s['http']['target']['attempts']}")
PY

[ "${PROMPTFOO:-0}" = 1 ] || exit 0

# ---- promptfoo on the same cases, mock and concurrency ----
# PROMPTFOO_DIR: a folder where promptfoo is already installed (npm install promptfoo).
PF="$T/promptfoo"
mkdir -p "$PF"
if [ -n "${PROMPTFOO_DIR:-}" ] && [ -x "$PROMPTFOO_DIR/node_modules/.bin/promptfoo" ]; then
    ln -s "$PROMPTFOO_DIR/node_modules" "$PF/node_modules"
else
    echo "installing promptfoo (npm) into $PF ..."
    if ! (cd "$PF" && npm init -y >/dev/null 2>&1 &&
        timeout 900 npm install promptfoo --no-audit --no-fund >"$PF/npm.log" 2>&1); then
        echo "promptfoo: npm install failed; the log's end:"
        tail -n 20 "$PF/npm.log"
        exit 0
    fi
fi
echo "promptfoo $(cd "$PF" && npx promptfoo --version 2>/dev/null | tail -n 1)"
python3 - "$T/cases.jsonl" "$PF/tests.yaml" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        c = json.loads(line)
        out.write("- vars: {input: %s}\n  assert: [{type: contains, value: %s}]\n"
                  % (json.dumps(c["input"]), json.dumps(c["assert"][0]["value"])))
PY
cat >"$PF/promptfooconfig.yaml" <<YAML
description: bench
prompts: ["{{input}}"]
providers:
  - id: openai:chat:gpt-4o-2024-08-06
    config: {apiBaseUrl: "$URL/v1", apiKey: "not-a-key", temperature: 0.2}
tests: file://tests.yaml
YAML
(cd "$PF" && PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false \
    /usr/bin/time -v npx promptfoo eval -c promptfooconfig.yaml --max-concurrency "$C" \
    --no-cache --no-progress-bar -o "$PF/out.json" >"$PF/run.out" 2>"$PF/time.out")
prc=$?
python3 - "$PF/time.out" "$N" "$prc" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t)
if not m or not w:
    print("promptfoo did not run:", t[-2000:])
    sys.exit(0)
parts = [float(x) for x in w.group(1).split(":")]
wall_s = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"promptfoo eval (exit {sys.argv[3]}): {int(sys.argv[2]) / wall_s:,.0f} cases/s over "
      f"{wall_s:.1f} s wall, peak RSS {int(m.group(1)) / 1024:.1f} MiB")
PY
