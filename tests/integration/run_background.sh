#!/usr/bin/env bash
# Background stages: one that finds a problem aborts the run; one still running
# when the others finish is cancelled and the run succeeds.
source "$(dirname "$0")/lib.sh"

sw run "$PIPES/background.yaml"
expect_rc 1 "a failing background stage fails the run"
d=$(run_dir)
journal_has "$d" stage_abandoned && bad "the long stage ignored cancellation" || ok "the long stage stopped when cancelled"
expect_eq "$(json "$d/report.json" 'd["failure"]["stage"]')" "watch" "failure names the background stage"
expect_eq "$(json "$d/report.json" 'd["outputs"]["rollback.why"]["value"]')" "watch: error rate 12% above 5%" "on_failure sees the watcher's reason"
expect_eq "$(json "$d/report.json" '[s["state"] for s in d["stages"]]')" "['failed', 'cancelled', 'succeeded']" "stage states"

sw run "$PIPES/background_ok.yaml"
expect_rc 0 "a background stage still running at the end is cancelled"
d=$(run_dir)
expect_eq "$(json "$d/report.json" 'd["stages"][0]["state"]')" "cancelled" "recorded as cancelled"

sw run "$PIPES/timeout.yaml"
expect_rc 1 "a stage past its timeout fails"
expect_out "timed out after 1000 ms" "the timeout is the reason"
d=$(run_dir)
journal_has "$d" stage_abandoned stuck && ok "a plugin ignoring cancellation is abandoned, not waited for" || bad "no stage_abandoned event"
expect_eq "$(json "$d/report.json" '[s["state"] for s in d["stages"]]')" "['timed_out', 'succeeded']" "on_failure ran after the timeout"
finish
