#!/usr/bin/env bash
# kill -9 a release writer at random points, many times: after every kill the
# store must be readable, and every release in it whole (its manifest parses,
# hashes to its id, and every file has the SHA-256 the manifest records).
source "$(dirname "$0")/lib.sh"

ROUNDS=${SW_CRASH_ROUNDS:-60}
B="$T/agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
AGENT_DIR="$SLIPWAY_STATE_DIR/releases/support-agent"

# Checks the files on disk without slipway: every release folder has a manifest that
# parses, names its folder as id, and lists files whose SHA-256 match. Prints the ids.
check_disk() {
    python3 - "$AGENT_DIR" <<'PY'
import hashlib, json, os, re, sys
root = sys.argv[1]
if not os.path.isdir(root):
    sys.exit(0)
for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if name.startswith(".") or ".tmp." in name or not os.path.isdir(path):
        continue
    assert re.fullmatch(r"[0-9a-f]{12}", name), "unexpected folder " + name
    m = json.load(open(os.path.join(path, "manifest.json")))
    assert m["id"] == name, name
    for rel, f in m["files"].items():
        data = open(os.path.join(path, rel), "rb").read()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], rel
        assert len(data) == f["bytes"], rel
    print(name)
ch = os.path.join(root, "channels.json")
if os.path.exists(ch):
    c = json.load(open(ch))
    for k in ("stable", "candidate"):
        assert c[k] is None or os.path.isdir(os.path.join(root, c[k])), k + " names a missing release"
    assert [h["seq"] for h in c["history"]] == list(range(1, len(c["history"]) + 1))
PY
}

killed=0
finished=0
partial=0
broken=0
verified=" "
for i in $(seq 1 "$ROUNDS"); do
    # New content each round, so every writer has a new release to write.
    echo "Round $i of the crash test." >>"$B/prompts/system.md"
    "$SLIPWAY" releases create "$B" --candidate >/dev/null 2>&1 &
    pid=$!
    # Before, during and after the write (one takes some 10 to 80 ms with its fsyncs):
    # every 10th round at once, odd rounds within 15 ms, the others within 50 ms.
    if [ $((i % 10)) -eq 0 ]; then ms=0; elif [ $((i % 2)) -eq 1 ]; then ms=$((RANDOM % 15)); else ms=$((RANDOM % 50)); fi
    sleep "$(printf '0.%03d' "$ms")"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
    wait "$pid" 2>/dev/null
    # A partial write left behind shows the kill landed inside a write.
    if [ -n "$(find "$AGENT_DIR" -maxdepth 1 -name '.tmp-*' 2>/dev/null)" ]; then partial=$((partial + 1)); fi

    if ! ids=$(check_disk 2>&1); then
        broken=$((broken + 1))
        out=$ids
        bad "round $i: the files on disk are not consistent"
        continue
    fi
    # slipway can read the store, and verifies each release it had not seen whole yet.
    out=$("$SLIPWAY" releases list support-agent --json 2>&1)
    rc=$?
    if [ $rc -ne 0 ] && ! grep -q "no releases" <<<"$out"; then
        broken=$((broken + 1))
        bad "round $i: releases list failed"
        continue
    fi
    listed=$([ $rc -eq 0 ] && python3 -c 'import json,sys; print("\n".join(sorted(r["id"] for r in json.loads(sys.argv[1]))))' "$out")
    if [ "$listed" != "$ids" ]; then
        broken=$((broken + 1))
        out="listed: $listed / on disk: $ids"
        bad "round $i: releases list does not match the folders"
        continue
    fi
    for id in $ids; do
        [[ "$verified" == *" $id "* ]] && continue
        out=$("$SLIPWAY" releases show "$id" --json 2>&1)
        if [ $? -ne 0 ] || ! python3 -c 'import json,sys; assert json.loads(sys.argv[1])["verified"]' "$out" 2>/dev/null; then
            broken=$((broken + 1))
            bad "round $i: release $id is not whole"
            continue 2
        fi
        verified="$verified$id "
    done
    out=$("$SLIPWAY" releases channels support-agent --json 2>&1) || {
        broken=$((broken + 1))
        bad "round $i: channels unreadable"
    }
done
echo "# $ROUNDS rounds: $killed writers killed while running ($partial inside a release write), $finished had finished"
expect_eq "$broken" "0" "the store stayed readable and whole through $ROUNDS kill -9s"
if [ "$killed" -gt 0 ]; then ok "some writers were killed mid-run ($killed)"; else bad "no writer was killed mid-run"; fi

# A writer after the crashes works, and clears what the dead ones left.
echo "After the crashes." >>"$B/prompts/system.md"
out=$("$SLIPWAY" releases create "$B" --candidate --json 2>&1)
rc=$?
expect_rc 0 "a release after the crashes"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$out")
strays=$(find "$AGENT_DIR" -maxdepth 1 \( -name '.tmp-*' -o -name '*.tmp.*' \) | wc -l)
expect_eq "$strays" "0" "no temporary folder or file is left behind"
out=$("$SLIPWAY" releases show "$id" 2>&1)
rc=$?
expect_rc 0 "the new release is whole"
expect_out "verified    yes" "and verified"
out=$("$SLIPWAY" releases channels support-agent --json 2>&1)
expect_eq "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["candidate"])' "$out")" "$id" \
    "candidate points at it"
finish
