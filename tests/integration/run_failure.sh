#!/usr/bin/env bash
# Gates that say no, stages that fail or error, on_failure with failure.*.
source "$(dirname "$0")/lib.sh"

sw run "$PIPES/failing.yaml"
expect_rc 1 "failing gate fails the run"
expect_out "score 0.50 is below 0.99" "the gate's reason is shown"
d=$(run_dir)
expect_eq "$(json "$d/report.json" 'd["outputs"]["notify.seen"]["value"]')" "score: gate failed: score 0.50 is below 0.99" "on_failure sees failure.stage and failure.reason"
expect_eq "$(json "$d/report.json" '[s["state"] for s in d["stages"]]')" "['failed', 'skipped', 'succeeded']" "stage states"

sw run "$PIPES/failing.yaml" --set vars.threshold=0.1
expect_rc 0 "--set changes a variable"
sw run "$PIPES/failing.yaml" --set threshold=0.1
expect_rc 2 "--set needs vars."
expect_out "vars.NAME=VALUE" "--set explains itself"

# A secret parameter's value is masked wherever the run writes it, even when the
# plugin itself puts it in a log line or a failure reason.
sw run "$PIPES/secret_param.yaml"
expect_rc 1 "the stage fails with the secret in its reason"
expect_out "calling the API with token ***" "the secret is masked in the log line"
expect_no_out "tok-literal-9f8e7d6c" "the secret is not in the output"
# pipeline.yaml is the user's own file, snapshotted for resume: a literal secret
# written there stays there (docs/security.md: keep secrets in the environment).
grep -rq --exclude=pipeline.yaml "tok-literal-9f8e7d6c" "$(run_dir)" && bad "the secret is in the run folder" || ok "the secret is nowhere in the run folder"

sw run "$PIPES/init_fail.yaml"
expect_rc 1 "init failure fails the run"
expect_out "missing credentials: set INIT_FAIL_TOKEN" "init's message is shown"

sw run "$PIPES/gate_error.yaml"
expect_rc 1 "an erroring gate fails"
expect_out "gate_error.yaml:8:7:" "the gate error names the file, line and column"

sw run "$PIPES/sandbox.yaml"
expect_rc 1 "os.execute is not there"
expect_out "os" "the sandbox error mentions os"
[ ! -e /tmp/slipway-escaped ] && ok "nothing escaped" || bad "sandbox escaped"

# A Lua stage stuck in a loop stops as soon as the run is asked to stop.
"$SLIPWAY" run "$PIPES/lua_loop.yaml" --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/loop.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "> spin" "$T/loop.out" 2>/dev/null && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
out=$(cat "$T/loop.out")
expect_rc 3 "SIGTERM stops a looping Lua stage"
journal_has "$(run_dir)" stage_abandoned && bad "the Lua stage ignored cancellation" || ok "the Lua stage stopped when cancelled"

sw run "$PIPES/probe.yaml"
expect_rc 0 "probe pipeline"
d=$(run_dir)
expect_eq "$(json "$d/report.json" 'd["outputs"]["as_double.text"]["value"]')" "5" "an int read as a double"
expect_eq "$(json "$d/report.json" 'd["outputs"]["as_string.text"]["value"]')" "context key 'src.i': expected string, got int" "type mismatch message"
expect_eq "$(json "$d/report.json" 'd["outputs"]["missing.text"]["value"]')" "context key 'src.zzz' is not set" "missing key message"
expect_eq "$(json "$d/report.json" 'd["outputs"]["missing.set_error"]["value"]')" "stage 'missing' (probe) has no declared output 'undeclared'" "undeclared outputs refused"
finish
