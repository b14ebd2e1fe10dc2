#!/usr/bin/env bash
# Shadow pairs whose shadow answers first: the primary (3 s) comes after the shadow (fast),
# and the pair still completes once the primary's answer reaches the shadow worker, with the
# primary's text, in the admin API and in the pairs file.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"
start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
start_mock slow "$FIX/slow.yaml"
two_versions_config "$T/router.yaml" "
shadow: {queue: 8, concurrency: 4, timeout_ms: 10000, pairs_file: $T/pairs.jsonl}"
sed -i "s|^      v2: .*|&\n      v3: {url: \"http://127.0.0.1:$slow_PORT/v1\"}|" "$T/router.yaml"
start_router "$T/router.yaml"
admin PUT /admin/agents/support-agent/route '{"version": 1, "stable": "v3", "candidate": null, "shadow": {"version": "v2", "percent": 100}}'
expect_eq "$status" 200 "primary v3, shadow v2"
CP=()
for i in 1 2 3; do chat "lp$i" "hello $i" & CP+=($!); done
wait "${CP[@]}"
for i in $(seq 1 100); do
    admin GET "/admin/shadow?agent=support-agent"
    n=$(jget 'len(d["pairs"])')
    [ "$n" -ge 3 ] && break
    sleep 0.05
done
expect_eq "$n" 3 "three pairs"
expect_eq "$(jget 'sorted(set(p["primary"]["text"] for p in d["pairs"]))')" "['slow shadow']" "primary text kept"
expect_eq "$(wc -l <"$T/pairs.jsonl")" 3 "three lines"
router_done
finish
