#!/usr/bin/env bash
# isolation: process — a stage's callbacks run in a forked child.
source "$(dirname "$0")/lib.sh"

sw run "$PIPES/isolated.yaml"
expect_rc 0 "isolated stages succeed"
d=$(run_dir)
expect_eq "$(json "$d/report.json" 'd["outputs"]["first.i"]["type"]')" "int" "an output from a child keeps its type"
expect_eq "$(json "$d/report.json" 'd["outputs"]["first.j"]["value"]')" "{'k': [1, 2]}" "json outputs come back"
expect_eq "$(json "$d/report.json" 'd["outputs"]["score.total"]["value"]')" "13" "a Lua stage in a child reads earlier outputs"
expect_out "[score lua] info: child sees 11" "logs are relayed with the stage prefix"
expect_out "calling the API with token ***" "a child's logs are masked too"
grep -rq --exclude=pipeline.yaml "tok-child-5a4b3c2d" "$d" && bad "a secret leaked from a child" || ok "no secret from a child in the run folder"

sw run "$PIPES/isolated_crash.yaml"
expect_rc 1 "a crash in a child fails the run, the process lives"
expect_out "died of signal 11" "the reason names the signal"
d=$(run_dir)
expect_eq "$(json "$d/report.json" '[s["state"] for s in d["stages"]]')" "['succeeded', 'error', 'skipped', 'succeeded']" "on_failure still ran"
expect_eq "$(json "$d/report.json" 'd["outputs"]["after.why"]["value"]')" "the plugin process died of signal 11 (Segmentation fault)" "on_failure sees the crash"

sw run "$PIPES/isolated_hang.yaml"
expect_rc 1 "a hung child is stopped at the timeout"
expect_out "timed out after 1000 ms" "the timeout is the reason"
journal_has "$(run_dir)" stage_abandoned && bad "the stage was abandoned" || ok "killed, not abandoned"

# SIGTERM while an isolated stage waits: the child is told, and the run stops with
# exit 3, resumable, with no process left behind.
"$SLIPWAY" run "$PIPES/isolated_wait.yaml" --set "vars.log=$T/iso.log" \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/iso.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$T/iso.log" ] && break; sleep 0.05; done
children=$(pgrep -P $pid | tr '\n' ' ')
kill -TERM $pid
wait $pid
rc=$?
expect_rc 3 "SIGTERM interrupts an isolated stage"
[ -n "$children" ] && ok "the stage ran in a child process" || bad "no child process was seen"
left=0
for c in $children; do kill -0 "$c" 2>/dev/null && left=1; done
[ $left -eq 0 ] && ok "no child process is left behind" || bad "a child outlived the run"
journal_has "$(run_dir)" stage_abandoned && bad "the stage was abandoned" || ok "the child stopped when told"
expect_eq "$(json "$(run_dir)/report.json" 'd["status"]')" "interrupted" "the run is resumable"
finish
