#!/usr/bin/env bash
# Where plugins are loaded from, end to end through the command: an insecure
# folder is refused with its reason, the two ways to allow it work, a relative
# SLIPWAY_PLUGIN_PATH entry is refused, and sha256 pins in a pipeline are
# checked before the plugin is loaded. docs/security.md, "Plugin search path".
source "$(dirname "$0")/lib.sh"
unset SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH SLIPWAY_PLUGIN_PATH

# The command without --plugin-path: only what each case puts on the path.
slip() {
    out=$("$SLIPWAY" "$@" 2>&1)
    rc=$?
}

mkdir -m 0755 "$T/ok" "$T/open"
chmod 0777 "$T/open"
cp "$SW_TEST_PLUGIN_DIR/emit.so" "$T/ok/emit.so"
cp "$SW_TEST_PLUGIN_DIR/emit.so" "$T/open/emit.so"
digest=$(sha256sum "$T/ok/emit.so" | cut -d' ' -f1)

pipeline() { # pipeline FILE PLUGINS_BLOCK
    cat >"$1" <<YAML
version: 1
name: trust
plugins:
$2
stages:
  - {id: a, uses: emit}
YAML
}

pipeline "$T/open.yaml" "  path: $T/open"
slip check "$T/open.yaml"
expect_rc 2 "a world-writable plugin folder is refused"
expect_out "refusing to load plugin '$T/open/emit.so': folder '$T/open' is writable by everyone (mode 0777)" "the refusal names the folder and why"
expect_out "SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1" "the refusal says how to allow it"
out=$(SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1 "$SLIPWAY" check "$T/open.yaml" 2>&1); rc=$?
expect_rc 0 "SLIPWAY_ALLOW_INSECURE_PLUGIN_PATH=1 allows it"
pipeline "$T/allowed.yaml" "  path: $T/open
  allow_insecure_path: true"
slip check "$T/allowed.yaml"
expect_rc 0 "plugins: {allow_insecure_path: true} allows it"

chmod 0666 "$T/ok/emit.so"
pipeline "$T/okdir.yaml" "  path: $T/ok"
slip check "$T/okdir.yaml"
expect_rc 2 "a world-writable plugin file is refused"
expect_out "file '$T/ok/emit.so' is writable by everyone (mode 0666)" "the refusal names the file"
chmod 0755 "$T/ok/emit.so"
slip check "$T/okdir.yaml"
expect_rc 0 "a plugin only its owner can write loads"

# A relative entry of SLIPWAY_PLUGIN_PATH names whatever folder the command runs in.
out=$(cd "$T" && SLIPWAY_PLUGIN_PATH=ok "$SLIPWAY" plugins show emit 2>&1); rc=$?
expect_rc 2 "a relative SLIPWAY_PLUGIN_PATH folder is refused"
expect_out "plugin folder 'ok' is a relative path" "the refusal says it is relative"
out=$(cd "$T" && SLIPWAY_PLUGIN_PATH="$T/ok" "$SLIPWAY" plugins show emit 2>&1); rc=$?
expect_rc 0 "an absolute SLIPWAY_PLUGIN_PATH folder is searched"

# Pins: checked at load, before the plugin's code runs.
pipeline "$T/pinned.yaml" "  path: $T/ok
  pins:
    emit: sha256:$digest"
slip run "$T/pinned.yaml"
expect_rc 0 "a pipeline whose pin matches runs"
pipeline "$T/badpin.yaml" "  path: $T/ok
  pins:
    emit: sha256:$(printf '0%.0s' $(seq 64))"
slip run "$T/badpin.yaml"
expect_rc 2 "a pin that does not match stops the run before anything runs"
expect_out "does not match its pin: the file's SHA-256 is $digest" "the mismatch shows the real digest"
[ -d "$SLIPWAY_STATE_DIR/runs" ] && [ "$(ls "$SLIPWAY_STATE_DIR/runs" | wc -l)" -gt 1 ] &&
    bad "a run folder was made for the refused pipeline" || ok "nothing ran"
pipeline "$T/unknown.yaml" "  path: $T/ok
  pins:
    emitt: sha256:$digest"
slip check "$T/unknown.yaml"
expect_rc 2 "a pin for a plugin no stage uses is an error"
expect_out "unknown.yaml:6:5: error: plugins: pins: no stage uses plugin 'emitt' (did you mean 'emit'?)" "it names file, line and column"

finish
