#!/usr/bin/env bash
# SIGTERM and kill -9 in the middle of a run, then `slipway resume`: the run
# continues after the last finished stage and ends with the same context as a
# run that was never interrupted.
source "$(dirname "$0")/lib.sh"

context_of() { python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
print(json.dumps({k: v["value"] for k, v in d["values"].items() if k != "vars.pause"}, sort_keys=True))' "$1/context.json"; }

# The reference: an uninterrupted run.
sw run "$PIPES/long.yaml" --set "vars.log=$T/ref.log" --set vars.pause=50ms
expect_rc 0 "uninterrupted run"
want=$(context_of "$(run_dir)" | sed "s|$T/ref.log|LOG|")

# SIGTERM during the third stage.
"$SLIPWAY" run "$PIPES/long.yaml" --set "vars.log=$T/term.log" --set vars.pause=700ms \
    --plugin-path "$SW_TEST_PLUGIN_DIR" >"$T/term.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ "$(wc -l <"$T/term.log" 2>/dev/null || echo 0)" -ge 3 ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
out=$(cat "$T/term.out")
expect_rc 3 "SIGTERM interrupts with exit 3"
expect_out "slipway resume" "says how to resume"
id=$(last_run)
expect_eq "$(json "$(run_dir)/report.json" 'd["status"]')" "interrupted" "report says interrupted"
sw resume "$id" --set-nothing 2>/dev/null; # an unknown option is a usage error
expect_rc 2 "resume rejects unknown options"
sw resume "$id"
expect_rc 0 "resume finishes the run"
got=$(context_of "$(run_dir)" | sed "s|$T/term.log|LOG|")
expect_eq "$got" "$want" "same final context as an uninterrupted run"
expect_eq "$(sort "$T/term.log" | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')" "1 2 " "finished stages never ran again (only the interrupted one ran twice)"
sw resume "$id"
expect_rc 2 "a finished run cannot be resumed"

# kill -9 at a random point, several times, then resume to the end.
for round in 1 2 3; do
    log="$T/kill$round.log"
    "$SLIPWAY" run "$PIPES/long.yaml" --set "vars.log=$log" --set vars.pause=300ms \
        --plugin-path "$SW_TEST_PLUGIN_DIR" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(( (RANDOM % 9) + 1 ))"
    kill -9 $pid
    wait $pid 2>/dev/null
    id=$(last_run)
    sw resume "$id"
    if [ "$rc" -ne 0 ]; then bad "round $round: resume after kill -9 (exit $rc)"; continue; fi
    got=$(context_of "$(run_dir)" | sed "s|$log|LOG|")
    expect_eq "$got" "$want" "round $round: kill -9 then resume gives the same context"
    for s in s1 s2 s3 s4 s5; do grep -qx "$s" "$log" || bad "round $round: stage $s never ran"; done
done
finish
