#!/usr/bin/env bash
# SIGTERM at any moment of `slipway run`, however early (while it reads the pipeline or makes
# the run folder): it ends with exit 3 (or 0 when the run had already finished; or 143, killed
# by the signal, when it came before main() could install a handler, while the dynamic loader
# still maps the libraries), and a run folder it leaves is whole: run.json, a checkpoint, and
# `slipway resume` takes it to the end.
source "$(dirname "$0")/lib.sh"

cat >"$T/quick.yaml" <<'YAML'
version: 1
name: quick
stages:
  - id: one
    uses: lua
    with: {outputs: {n: int}, code: "function run(ctx) return {n = 1} end"}
  - id: two
    uses: lua
    with: {outputs: {n: int}, code: "function run(ctx) return {n = ctx.one.n + 1} end"}
YAML

codes=""
for delay in 0 0 0.001 0.002 0.003 0.005 0.008 0.01 0.015 0.02 0.03 0.05; do
    "$SLIPWAY" run "$T/quick.yaml" >"$T/out.txt" 2>&1 &
    pid=$!
    sleep "$delay"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    code=$?
    codes="$codes $code"
    case $code in 0 | 3 | 143) ;; *) out=$(cat "$T/out.txt"); bad "after ${delay}s: exit $code" ;; esac
done
ok "every run ended with 3, 0 or 143:$codes"

whole=0 resumed=0 n=0
for d in "$SLIPWAY_STATE_DIR"/runs/*/; do
    [ -d "$d" ] || continue
    n=$((n + 1))
    if [ -s "$d/run.json" ] && [ -s "$d/context.json" ] && [ -s "$d/pipeline.yaml" ]; then
        whole=$((whole + 1))
    else
        bad "a half-made run folder: $(ls "$d" | tr '\n' ' ')"
    fi
    if [ "$(json "$d/report.json" 'd["status"]')" = interrupted ]; then
        sw resume "$(basename "$d")"
        [ "$rc" = 0 ] && [ "$(json "$d/report.json" 'd["outputs"]["two.n"]["value"]')" = 2 ] &&
            resumed=$((resumed + 1)) || bad "resume of $(basename "$d"): exit $rc"
    fi
done
expect_eq "$whole" "$n" "every run folder left is whole ($n folders, $resumed resumed to the end)"
finish
