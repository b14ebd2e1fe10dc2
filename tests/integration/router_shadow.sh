#!/usr/bin/env bash
# Shadow mode: a sticky share of sessions is copied to another version off the primary path;
# each pair is recorded and compared; a stalled shadow never delays the primary; a full queue
# drops (and counts) copies.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
start_mock slow "$FIX/slow.yaml"
two_versions_config "$T/router.yaml" "
shadow: {queue: 2, concurrency: 1, timeout_ms: 10000, pairs_file: $T/pairs.jsonl}"
# v3: the slow shadow.
sed -i "s|^      v2: .*|&\n      v3: {url: \"http://127.0.0.1:$slow_PORT/v1\"}|" "$T/router.yaml"
start_router "$T/router.yaml"

admin PUT /admin/agents/support-agent/route '{"version": 1, "shadow": {"version": "v2", "percent": 100}}'
expect_eq "$status" 200 "shadow v2 for every session"
# pairs_reach N: wait (at most 10 s) until N pairs are recorded; the count in $n. Each request
# waits for its pair, so the small queue (2) never drops one here however slow the router
# runs (under valgrind, say): dropping is the next part's subject.
pairs_reach() {
    local i
    for i in $(seq 1 200); do
        admin GET "/admin/shadow?agent=support-agent"
        n=$(jget 'len(d["pairs"])')
        [ "$n" -ge "$1" ] && return
        sleep 0.05
    done
}
for i in 1 2 3 4; do
    chat "sh$i" "hello $i"
    pairs_reach "$i"
done
chat "sh5" "order please"
expect_eq "$version" v1 "the primary answers"
pairs_reach 5
expect_eq "$n" 5 "five pairs recorded"
expect_eq "$(jget 'd["pairs"][0]["primary"]["version"] + "/" + d["pairs"][0]["shadow"]["version"]')" v1/v2 "a pair names both versions"
expect_eq "$(jget 'sorted(set(p["text_differs"] for p in d["pairs"][1:]))')" "[True]" "different texts are flagged"
expect_eq "$(jget '[p["tool_calls_differ"] for p in d["pairs"] if p["session"] == "sh5"]')" "[True]" "different tool calls are flagged"
expect_eq "$(jget '[p["shadow"]["text"] for p in d["pairs"] if p["session"] == "sh1"]')" "['v2 replies: hello 1']" "the shadow's answer is kept"
expect_eq "$(wc -l <"$T/pairs.jsonl")" 5 "the pairs file has five lines"
expect_eq "$(metric 'slipway_shadow_pairs_total{agent="support-agent",version="v2",result="different"}')" 5 "pairs counted on the shadow version"
expect_eq "$(metric 'slipway_requests_total{agent="support-agent",version="v2"}')" 0 "shadow copies are not primary requests"

# A stalled shadow (3 s per answer, one at a time, two queued): the primary never waits.
admin PUT /admin/agents/support-agent/route '{"version": 2, "shadow": {"version": "v3", "percent": 100}}'
slow_primary=0
for i in $(seq 1 10); do
    chat "q$i" "hi"
    [ "$status" = 200 ] || slow_primary=$((slow_primary + 1))
done
# chat's curl gives up after 10 s; a primary that waited for three 3 s shadows would show
# up in the stats' max latency.
expect_eq "$slow_primary" 0 "every primary answered"
admin GET "/admin/stats?agent=support-agent&since=1m"
max=$(jget 'int(d["versions"]["v1"]["latency_ms"]["max"])')
[ "$max" -lt 2500 ] && ok "no primary waited for the shadow (max ${max} ms)" || bad "a primary took $max ms"
dropped=$(metric 'slipway_shadow_dropped_total{agent="support-agent",version="v3"}')
[ "$dropped" -ge 5 ] && ok "a full shadow queue drops copies ($dropped dropped)" || bad "dropped: $dropped"
expect_eq "$(jget 'd["versions"]["v3"]["shadow"]["dropped"]')" "$dropped" "drops in the stats too"

# Let the slow shadow's backlog (one running, two queued) finish before the next part.
for i in $(seq 1 200); do
    done3=$(( $(metric 'slipway_shadow_pairs_total{agent="support-agent",version="v3",result="different"}') + \
              $(metric 'slipway_shadow_pairs_total{agent="support-agent",version="v3",result="error"}') ))
    [ "$done3" -ge 3 ] && break
    sleep 0.1
done
expect_eq "$done3" 3 "the slow shadow finished its backlog (1 running + 2 queued)"

# Sticky: at 30%, a session is shadowed every time or never.
admin PUT /admin/agents/support-agent/route '{"version": 3, "shadow": {"version": "v2", "percent": 30}}'
for i in $(seq 1 20); do chat "st$i" "a"; chat "st$i" "b"; done
n=0
for i in $(seq 1 100); do
    admin GET "/admin/shadow?agent=support-agent&limit=1000"
    n=$(jget 'len([p for p in d["pairs"] if p["session"].startswith("st")])')
    sleep 0.05
    admin GET "/admin/shadow?agent=support-agent&limit=1000"
    [ "$(jget 'len([p for p in d["pairs"] if p["session"].startswith("st")])')" = "$n" ] && break
done
expect_eq "$(jget 'sorted(set(sum(1 for p in d["pairs"] if p["session"] == s) for s in set(p["session"] for p in d["pairs"] if p["session"].startswith("st"))))')" "[2]" "a shadowed session is shadowed on every request"
[ "$n" -ge 2 ] && [ "$n" -le 30 ] && ok "about 30% of sessions shadowed ($((n / 2)) of 20)" || bad "$n shadowed requests"
router_done
finish
