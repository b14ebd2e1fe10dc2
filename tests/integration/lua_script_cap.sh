#!/usr/bin/env bash
# A `lua` stage's script file is read only up to 16 MiB: a larger one is a stage error naming
# the file and the cap, not a process that reads whatever it is given.
source "$(dirname "$0")/lib.sh"

head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '-' >"$T/huge.lua"
cat >"$T/cap.yaml" <<YAML
version: 1
name: lua-script-cap
stages:
  - id: big
    uses: lua
    with: {outputs: {n: int}, script: huge.lua}
YAML
sw run "$T/cap.yaml"
expect_rc 1 "a 16 MiB + 1 byte script fails the stage"
expect_out "script: " "the error is the script's"
expect_out "huge.lua" "naming the file"
printf '%s\n' "$out" | grep -m1 "huge.lua" | sed 's/^/# /'
finish
