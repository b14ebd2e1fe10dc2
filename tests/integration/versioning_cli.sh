#!/usr/bin/env bash
# The release store from the command line: create, list, show, diff, channels,
# tag, set (compare-and-swap), rollback, and every bad bundle refused with
# nothing written.
source "$(dirname "$0")/lib.sh"

export SLIPWAY_USER=ci-bot
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"

# The number of releases stored for support-agent (0 when none).
count_releases() {
    local n
    n=$("$SLIPWAY" releases list support-agent --json 2>/dev/null) || { echo 0; return; }
    python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$n"
}
# field JSON EXPR: evaluate EXPR with d = the parsed JSON text.
field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$@"; }

# ---- create ----
sw releases create "$B" --json
expect_rc 0 "create a release from the example bundle"
ID1=$(field "$out" 'd["id"]')
if [[ "$ID1" =~ ^[0-9a-f]{12}$ ]]; then ok "the id is 12 hex digits"; else bad "id '$ID1'"; fi
expect_eq "$(field "$out" 'd["changed"]')" "True" "a new release says changed"
expect_eq "$(field "$out" 'd["manifest"]["created_by"]')" "ci-bot" "created_by comes from SLIPWAY_USER"
expect_eq "$(field "$out" 'd["previous"]')" "None" "no stable yet: previous is null"

sw releases create "$B"
expect_rc 0 "create the same content again"
expect_out "release $ID1 of support-agent (already stored: nothing written)" "same content, same id, a no-op"

# The same files in another folder: the same id.
cp -r "$B" "$T/elsewhere"
sw releases create "$T/elsewhere" --json
expect_eq "$(field "$out" 'd["id"]')" "$ID1" "the id does not depend on the folder"

# ---- list, show ----
sw releases list
expect_rc 0 "list every agent"
expect_out "support-agent" "list names the agent"
expect_out "$ID1" "list shows the release"
sw releases list support-agent --json
expect_eq "$(field "$out" 'len(d)')" "1" "one release listed"

sw releases show "${ID1:0:6}"
expect_rc 0 "show by a unique prefix"
expect_out "model       openai/gpt-4o-2024-08-06" "show prints the model"
expect_out "tool        issue_refund             mutating" "show prints tools with side effects"
expect_out "verified    yes" "show verifies the release"
sw releases show "$ID1" --json
expect_eq "$(field "$out" 'd["verified"]')" "True" "show --json: verified"
# Every file matches its recorded SHA-256, checked here with sha256sum rather than by slipway.
dir=$(field "$out" 'd["dir"]')
bad_files=0
while IFS=' ' read -r path sha; do
    [ "$(sha256sum "$dir/$path" | cut -d' ' -f1)" == "$sha" ] || bad_files=$((bad_files + 1))
done < <(field "$out" '"\n".join(p + " " + f["sha256"] for p, f in d["manifest"]["files"].items())')
expect_eq "$bad_files" "0" "every stored file has the SHA-256 the manifest records"
expect_eq "$(field "$out" 'sorted(d["manifest"]["files"])')" \
    "['agent.yaml', 'prompts/system.md', 'tools/escalate_to_human.json', 'tools/issue_refund.json', 'tools/lookup_order.json']" \
    "the release holds the bundle's files"
if grep -q "Northwind Outfitters" <<<"$(field "$out" 'd["manifest"]["prompts"]["system"]["text"]')"; then
    ok "the manifest holds the rendered prompt"
else bad "rendered prompt"; fi

sw releases show ab
expect_rc 2 "a prefix shorter than 4 digits is refused"
sw releases show ffffffffffff
expect_rc 1 "an unknown release"
expect_out "no release matches" "says no release matches"

# ---- tags, channels ----
sw tag "$ID1" v1.0.0
expect_rc 0 "tag a release"
sw tag "$ID1" v1.0.0
expect_rc 0 "tagging again is a no-op"
sw releases show support-agent:v1.0.0 --json
expect_eq "$(field "$out" 'd["id"]')" "$ID1" "a tag resolves as AGENT:TAG"
sw tag "$ID1" stable
expect_rc 2 "a channel name is not a tag"

sw releases set support-agent stable "$ID1" --reason "first deploy"
expect_rc 0 "set stable"
sw releases channels support-agent
expect_rc 0 "channels"
expect_out "stable      $ID1" "channels shows stable"
expect_out "\"first deploy\"" "the history keeps the reason"
expect_out "ci-bot" "the history keeps who"

# ---- a breaking change ----
python3 - "$B/tools/issue_refund.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
params = d["function"]["parameters"]
del params["properties"]["items"]
params["required"].remove("items")
params["properties"]["reason"]["enum"].append("lost_in_transit")
json.dump(d, open(p, "w"), indent=2)
PY
sw releases create "$B" --candidate --json
expect_rc 0 "create the changed bundle as candidate"
ID2=$(field "$out" 'd["id"]')
[ "$ID2" != "$ID1" ] && ok "changed content, new id" || bad "changed content kept the id"
expect_eq "$(field "$out" 'd["previous"]')" "$ID1" "previous is the stable release"
expect_eq "$(field "$out" 'd["breaking_changes"]')" "1" "one breaking change against stable"
expect_eq "$(field "$out" 'd["candidate"]')" "$ID2" "candidate points at the new release"

sw releases diff support-agent:stable support-agent:candidate
expect_rc 0 "diff stable candidate"
expect_out "BREAKING   issue_refund: property 'items' removed" "the diff marks the removed property breaking"
expect_out "compatible issue_refund: reason: 1 value(s) added" "a widened enum is compatible"
sw releases diff "$ID1" "$ID2" --json
expect_eq "$(field "$out" '(d["breaking_changes"], d["compatible_changes"])')" "(1, 1)" "diff --json counts"

# ---- compare-and-swap from the command line ----
sw releases set support-agent stable "$ID2" --expect "$ID2"
expect_rc 1 "a stale --expect loses"
expect_out "changed meanwhile" "and says why"
sw releases set support-agent stable "$ID2" --expect "$ID1"
expect_rc 0 "the right --expect wins"

# ---- rollback ----
sw releases rollback support-agent --reason "error rate up"
expect_rc 0 "rollback to the previous stable"
expect_out "stable of support-agent: $ID2 -> $ID1; candidate cleared" "stable back, candidate cleared"
sw releases channels support-agent --json
expect_eq "$(field "$out" '(d["stable"], d["candidate"])')" "('$ID1', None)" "channels after rollback"
expect_eq "$(field "$out" '[h["action"] for h in d["history"]][-2:]')" "['rollback', 'rollback']" \
    "the rollback is in the history"
expect_eq "$(field "$out" '[h["seq"] for h in d["history"]] == list(range(1, len(d["history"]) + 1))')" \
    "True" "history entries are numbered in order"

# ---- bad bundles: a clear error, nothing written ----
before=$(count_releases)
bad_bundle() { # NAME: a fresh copy of the example in $T/NAME
    rm -rf "${T:?}/$1"
    cp -r "$SW_SOURCE_DIR/examples/support-agent" "$T/$1"
    echo "$T/$1"
}
sw releases create "$T/no-such-bundle"
expect_rc 2 "a missing bundle"
expect_out "does not exist" "says it does not exist"

X=$(bad_bundle floating)
sed -i 's/name: gpt-4o-2024-08-06 .*/name: gpt-4o/' "$X/agent.yaml"
sw releases create "$X"
expect_rc 1 "a floating alias is refused"
expect_out "floating/agent.yaml:8:9: error: model 'gpt-4o' is a bare family name" "names file, line and model"
expect_out "pin a version such as 'gpt-4o-2024-08-06'" "suggests the pinned name"
sw releases create "$X" --allow-floating-alias --agent floating-ok
expect_rc 0 "allowed explicitly"
expect_out "allowed by allow_floating_alias" "with a warning"

X=$(bad_bundle latest)
sed -i 's/name: gpt-4o-2024-08-06 .*/name: gpt-4o-2024-08-06/' "$X/agent.yaml"
sw releases create "$X" --deny-model 'gpt-4o-*'
expect_rc 1 "a deny pattern refuses a pinned name"
expect_out "matches the deny pattern 'gpt-4o-*'" "names the pattern"

X=$(bad_bundle traversal)
sed -i 's|system: prompts/system.md|system: prompts/../../traversal/agent.yaml|' "$X/agent.yaml"
sw releases create "$X"
expect_rc 2 "path traversal in a reference"
expect_out "traversal/agent.yaml:24:11: error: prompt 'system'" "names file and line"
expect_out "leaves the bundle" "says it leaves the bundle"

X=$(bad_bundle symlink)
echo "outside" >"$T/outside.md"
rm "$X/prompts/system.md"
ln -s "$T/outside.md" "$X/prompts/system.md"
sw releases create "$X"
expect_rc 2 "a symlink escaping the bundle"
expect_out "a symlink that leads outside the bundle" "says so"

X=$(bad_bundle utf8)
printf 'Hello \xff world\n' >>"$X/prompts/system.md"
sw releases create "$X"
expect_rc 2 "a prompt that is not UTF-8"
expect_out "prompts/system.md:37:7: error: not valid UTF-8 (byte 0xff)" "names file, line and column"

X=$(bad_bundle bigger)
sw releases create "$X" --max-bytes 2000
expect_rc 2 "a bundle over the size cap"
expect_out "over its size cap of 2000 bytes" "says which cap"

X=$(bad_bundle badjson)
sed -i 's/"side_effect": "read_only",/"side_effect": "read_only"/' "$X/tools/lookup_order.json"
sw releases create "$X"
expect_rc 2 "invalid tool JSON"
expect_out "badjson/tools/lookup_order.json:4:" "names the tool file and line"

X=$(bad_bundle undefined)
sed -i 's/  - escalate_to_human/  - escalate_to_human\n  - cancel_order/' "$X/agent.yaml"
sw releases create "$X"
expect_rc 2 "a tool referenced but not defined"
expect_out "undefined/agent.yaml:36:5: error: tool 'cancel_order' is referenced but not defined" \
    "names file, line and tool"

X=$(bad_bundle novar)
echo "Our hub is {{hub}}." >>"$X/prompts/system.md"
sw releases create "$X"
expect_rc 2 "a template variable with no value"
expect_out "prompts/system.md:37:12: error: template variable 'hub' has no value" "names file, line, variable"
sw releases create "$X" --var hub=Lyon --agent novar-ok
expect_rc 0 "--var gives it a value"

X=$(bad_bundle unknownkey)
echo "temprature: 0.5" >>"$X/agent.yaml"
sw releases create "$X"
expect_rc 2 "an unknown key in agent.yaml"
expect_out "unknownkey/agent.yaml:36:1: error: unknown key 'temprature'" "names file and line"

expect_eq "$(count_releases)" "$before" "no bad bundle wrote a release"

# ---- usage ----
for sub in list show diff channels create set rollback; do
    sw releases "$sub" --help
    expect_rc 0 "releases $sub --help"
done
sw tag --help
expect_rc 0 "tag --help"
sw releases frobnicate
expect_rc 2 "an unknown subcommand"
sw releases create
expect_rc 2 "create without a bundle"

# --state-dir wins over the environment.
sw releases list --state-dir "$T/other-state"
expect_rc 0 "an empty state folder lists"
expect_out "no releases" "and says so"
finish
