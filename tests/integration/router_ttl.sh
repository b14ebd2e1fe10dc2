#!/usr/bin/env bash
# Idle pins expire: a session pinned to the candidate keeps it while the weight drops to 0,
# until it has been idle for the configured TTL; then its pin is gone (from the router and,
# after a restart, from the state file) and the session is assigned afresh, to stable.
source "$(dirname "$0")/lib.sh"
source "$SW_SOURCE_DIR/tests/fixtures/router/lib.sh"

start_mock v1 "$FIX/v1.yaml"
start_mock v2 "$FIX/v2.yaml"
WEIGHT=100 two_versions_config "$T/router.yaml" "sessions: {ttl_s: 1}"
start_router "$T/router.yaml"
export SLIPWAY_ROUTER="$URL"

chat idle-1 "hi"
expect_eq "$version/$(hdr x-slipway-assignment)" v2/split "weight 100: the session goes to the candidate"
"$SLIPWAY" route set support-agent --weight 0 >/dev/null 2>&1
expect_eq "$?" 0 "the weight drops to 0"
chat idle-1 "again"
expect_eq "$version/$(hdr x-slipway-assignment)" v2/pin "while pinned, the session keeps the candidate"

# Wait for the sweep (the admin API reads pins without touching them; a chat would).
gone=0
for i in $(seq 1 300); do
    admin GET /admin/agents/support-agent/pins/idle-1
    [ "$status" = 404 ] && { gone=1; break; }
    sleep 0.05
done
expect_eq "$gone" 1 "the idle pin expires"
chat idle-1 "back after a while"
expect_eq "$version/$(hdr x-slipway-assignment)" v1/split "an expired session is assigned afresh (stable at weight 0)"

# The expiry reaches the state file: after a restart the session is still stable's, and the
# new pin (not the expired one) is what was saved.
stop_router
expect_eq "$stop_rc" 0 "the router saves and stops"
grep -q '"idle-1"' "$T/state/router.json" && ok "the state file has the session's new pin" || bad "no pin saved"
python3 - "$T/state/router.json" <<'PY' && ok "its saved pin is v1" || bad "saved pin is not v1"
import json, sys
d = json.load(open(sys.argv[1]))
found = []
def walk(x):
    if isinstance(x, dict):
        if x.get("session") == "idle-1":
            found.append(x.get("version"))
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(d)
sys.exit(0 if found == ["v1"] else 1)
PY
start_router "$T/router.yaml"
chat idle-1 "after the restart"
expect_eq "$version" v1 "after a restart the session stays on stable"
router_done
finish
