#!/usr/bin/env bash
# The sticky split: a weight takes its share of sessions, each session keeps its version,
# ramping up only adds sessions; targeting rules come before the split; `slipway route set`.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=25 two_versions_config "$T/router.yaml"
start_router "$T/router.yaml"
export SLIPWAY_ROUTER="$URL"

# versions_of PREFIX N: the version of sessions PREFIX1..PREFIXN, one per line.
versions_of() {
    local i
    for i in $(seq 1 "$2"); do
        chat "$1$i" "hi"
        echo "$1$i $version"
    done
}

versions_of s 200 >"$T/at25.txt"
n2=$(grep -c ' v2$' "$T/at25.txt")
[ "$n2" -ge 30 ] && [ "$n2" -le 70 ] && ok "25%: $n2 of 200 sessions on v2" || bad "25%: $n2 of 200 on v2"
versions_of s 200 >"$T/again.txt"
cmp -s "$T/at25.txt" "$T/again.txt" && ok "every session keeps its version" || bad "sessions moved"

# Ramp to 60% with the CLI (it reads the route version and swaps on it), then forget the pins:
# the bucketing alone must keep every v2 session on v2.
"$SLIPWAY" route set support-agent --weight 60 >"$T/set.txt" 2>&1
expect_eq "$?" 0 "slipway route set --weight 60"
grep -q "candidate  v2 at 60% of sessions" "$T/set.txt" && ok "route set prints the route" || { out=$(cat "$T/set.txt"); bad "route set output"; }
for i in $(seq 1 200); do admin DELETE "/admin/agents/support-agent/pins/s$i"; done
versions_of s 200 >"$T/at60.txt"
joined=$(join <(sort "$T/at25.txt") <(sort "$T/at60.txt") | wc -l)
expect_eq "$joined" 200 "the same 200 sessions compared"
lost=$(join <(sort "$T/at25.txt") <(sort "$T/at60.txt") | awk '$2 == "v2" && $3 != "v2"' | wc -l)
expect_eq "$lost" 0 "ramping up keeps every session the candidate had"
n60=$(grep -c ' v2$' "$T/at60.txt")
[ "$n60" -ge 100 ] && [ "$n60" -le 140 ] && ok "60%: $n60 of 200" || bad "60%: $n60 of 200"

# A stale route version is refused, and nothing changes.
"$SLIPWAY" route set support-agent --weight 5 --route-version 1 >"$T/stale.txt" 2>&1
expect_eq "$?" 1 "a stale --route-version is refused"
grep -q "route_version\|is at version" "$T/stale.txt" && ok "and says why" || { out=$(cat "$T/stale.txt"); bad "stale message"; }
admin GET /admin/agents/support-agent/route
expect_eq "$(jget 'd["weight"]')" 60.0 "the weight is still 60"

# Rules first: staff get the candidate, whatever the weight.
cat >"$T/rules.json" <<'JSON'
[{"name": "staff", "header": "x-team", "op": "eq", "value": "platform", "version": "v2"},
 {"name": "beta-tenants", "attr": "metadata.tenant", "op": "in", "values": ["acme"], "version": "v2"}]
JSON
"$SLIPWAY" route set support-agent --weight 0 --rules-file "$T/rules.json" >/dev/null 2>&1
expect_eq "$?" 0 "route set --rules-file"
chat "staff-1" "hi" support-agent -H 'x-team: platform'
expect_eq "$version/$(hdr x-slipway-assignment)" v2/rule "a header rule"
body=$(curl -s --max-time 10 -D "$T/h.txt" -d '{"model": "support-agent", "metadata": {"tenant": "acme", "session_id": "t-1"}, "messages": [{"role": "user", "content": "x"}]}' "$URL/v1/chat/completions")
expect_eq "$(hdr x-slipway-version)/$(hdr x-slipway-session)" v2/t-1 "a body attribute rule (and metadata.session_id)"
chat "plain-1" "hi"
expect_eq "$version" v1 "others: weight 0, stable"

# 0.01% resolution.
"$SLIPWAY" route set support-agent --weight 0.01 --json >"$T/fine.json" 2>&1
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["weight"])' "$T/fine.json")" 0.01 "a weight of 0.01%"
"$SLIPWAY" route set support-agent --weight 0.001 >/dev/null 2>&1
expect_eq "$?" 1 "0.001% is refused"

# `slipway routes`.
swr routes support-agent --router "$URL"
expect_rc 0 "slipway routes AGENT"
expect_out "stable     v1" "shows stable"
expect_out "rule 1" "shows the rules"
swr routes --router "$URL" --json
expect_out '"agents"' "slipway routes --json"
swr routes nobody --router "$URL"
expect_rc 1 "an unknown agent"
router_done
finish
