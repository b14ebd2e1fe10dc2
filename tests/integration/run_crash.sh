#!/usr/bin/env bash
# A plugin that segfaults kills the process, but the journal keeps everything
# up to the crash and says where it happened.
source "$(dirname "$0")/lib.sh"

sw run "$PIPES/crash.yaml"
[ "$rc" -ge 128 ] && ok "the process died of a signal ($rc)" || bad "expected death by signal, got $rc"
expect_out "journal records the crash" "the crash is explained"
d=$(run_dir)
if python3 - "$d/journal.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
crash = [e for e in events if e["event"] == "crash"]
assert crash and crash[0]["stage"] == "boom" and crash[0]["signal"] == 11, crash
assert any(e["event"] == "stage_end" and e["stage"] == "before" for e in events)
PY
then ok "journal has the finished stage and the crash"; else bad "journal after a crash"; fi
sw runs show "$(last_run)"
expect_out "crash" "runs show reports the crash"
expect_out "boom" "and the stage"
finish
