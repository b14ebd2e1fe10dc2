#!/usr/bin/env bash
# `slipway run` of a pipeline whose first stage is versioning, gated on
# release.breaking_changes == 0: typed outputs, a no-op second run, a breaking
# tool change stopping the pipeline, refusals failing the stage.
source "$(dirname "$0")/lib.sh"

# Needs the runner; CTest treats 77 as skipped (SKIP_RETURN_CODE).
if ! "$SLIPWAY" run --help >/dev/null 2>&1; then
    echo "skipped: 'slipway run' is not available in this build"
    exit 77
fi

export SLIPWAY_USER=pipeline-bot
B="$T/support-agent"
cp -r "$SW_SOURCE_DIR/examples/support-agent" "$B"
P="$PIPES/versioning.yaml"
report() { echo "$(run_dir)/report.json"; }
output() { json "$(report)" "d['outputs']['$1']['$2']"; }

sw run "$P" --set "vars.bundle=$B"
expect_rc 0 "the pipeline passes on the example bundle"
expect_out "[release versioning] info: release" "the stage logs the release"
expect_out "against stable: first release" "and the diff summary"
ID=$(output release.id value)
RUN1=$(last_run)
if [[ "$ID" =~ ^[0-9a-f]{12}$ ]]; then ok "release.id is a 12-digit id"; else bad "release.id '$ID'"; fi
expect_eq "$(output release.id type)" "string" "release.id is a string"
expect_eq "$(output release.agent value)" "support-agent" "release.agent"
expect_eq "$(output release.model value)" "gpt-4o-2024-08-06" "release.model"
expect_eq "$(output release.changed type)/$(output release.changed value)" "bool/True" "release.changed is a true bool"
expect_eq "$(output release.breaking_changes type)/$(output release.breaking_changes value)" "int/0" \
    "release.breaking_changes is an int"
expect_eq "$(output release.previous type)" "null" "release.previous is null without a stable release"
expect_eq "$(output release.manifest type)" "json" "release.manifest is json"
expect_eq "$(output release.diff type)" "json" "release.diff is json"
expect_eq "$(json "$(report)" "d['outputs']['release.manifest']['value']['run_id']")" "$RUN1" \
    "the manifest records the run id"
expect_eq "$(json "$(report)" "d['outputs']['release.manifest']['value']['created_by']")" "pipeline-bot" \
    "the manifest records who"
expect_eq "$(output summary.line value)" "support-agent $ID from none changed=true tools=3" \
    "a later stage reads the outputs"
[ -s "$(run_dir)/artifacts/release/release-diff.txt" ] && ok "the diff is an artifact" || bad "no diff artifact"

# The stage sets candidate, never stable.
sw releases channels support-agent --json
expect_eq "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["candidate"], d["stable"])' "$out")" \
    "$ID None" "candidate is the release; stable untouched"

sw run "$P" --set "vars.bundle=$B"
expect_rc 0 "a second run on the same content"
expect_eq "$(output release.id value)" "$ID" "the same id"
expect_eq "$(output release.changed value)" "False" "changed is false"

# Promote, then break a tool's schema: the gate stops the pipeline.
sw releases set support-agent stable "$ID"
expect_rc 0 "promote the release to stable"
python3 - "$B/tools/lookup_order.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
params = d["function"]["parameters"]
del params["properties"]["include_items"]
params["required"] = ["order_id"]
json.dump(d, open(p, "w"), indent=2)
PY
sw run "$P" --set "vars.bundle=$B"
expect_rc 1 "a removed tool property fails the gate"
expect_out "BREAKING tool 'lookup_order': property 'include_items' removed" "the log names the breaking change"
expect_out "gate" "the gate is what said no"
expect_eq "$(output release.breaking_changes value)" "1" "release.breaking_changes is 1"
expect_eq "$(output release.previous value)" "$ID" "release.previous is the stable release"
expect_eq "$(json "$(report)" "d['outputs']['release.diff']['value']['tools'][0]['change']")" \
    "property_removed" "the diff output classifies the change"

# Policy refusals and bad bundles fail the stage, with file and line in the output.
sed -i 's/name: gpt-4o-2024-08-06 .*/name: gpt-4o-latest/' "$B/agent.yaml"
sw run "$P" --set "vars.bundle=$B"
expect_rc 1 "a floating alias fails the stage"
expect_out "support-agent/agent.yaml:8:9: error: model 'gpt-4o-latest' is a floating alias" \
    "with file, line and the model"
expect_out "gpt-4o-2024-08-06" "and the pinned name to use"
sed -i 's/name: gpt-4o-latest/name: gpt-4o-2024-08-06/' "$B/agent.yaml"
echo "Ask for {{undefined_var}}." >>"$B/prompts/system.md"
sw run "$P" --set "vars.bundle=$B"
expect_rc 1 "a template variable without a value fails the stage"
expect_out "prompts/system.md:37:9: error: template variable 'undefined_var' has no value" \
    "with file, line and column"
sw run "$P" --set "vars.bundle=$T/nowhere"
expect_rc 1 "a missing bundle fails the stage"
expect_out "does not exist" "and says so"
finish
