#!/usr/bin/env bash
# What a new plugin author does, with nothing but an installed Slipway: install to a
# prefix, scaffold a plugin with the installed `slipway new-plugin`, build it out of tree
# with find_package(Slipway), run its own harness test, run it in a pipeline; then the
# same plugin with plain cc and pkg-config. Nothing here reads the source tree's headers.
source "$(dirname "$0")/lib.sh"
: "${SW_BUILD_DIR:?SW_BUILD_DIR must name the build folder}"
command -v cmake >/dev/null || { echo "skip: no cmake"; exit 77; }
CC=${CC:-cc}
unset LD_LIBRARY_PATH SLIPWAY_PLUGIN_PATH
P="$T/prefix"
# A sanitizer build installs an instrumented libslipway: what links it must be instrumented too.
SAN=""
if grep -q libasan <<<"$(ldd "$SLIPWAY" 2>/dev/null)"; then
    SAN="-fsanitize=address,undefined"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi

# ---- install ----
if cmake --install "$SW_BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1; then
    ok "cmake --install into a temporary prefix"
else
    out=$(cat "$T/install.log"); bad "cmake --install"; finish
fi
S="$P/bin/slipway"
for f in bin/slipway include/slipway/plugin.h include/slipway/harness.h lib/cmake/Slipway/SlipwayConfig.cmake \
         lib/cmake/Slipway/SlipwayConfigVersion.cmake lib/pkgconfig/slipway-plugin.pc lib/pkgconfig/slipway.pc \
         share/slipway/template/CMakeLists.txt; do
    [ -e "$P/$f" ] && ok "installed $f" || bad "installed $f"
done
ls "$P"/lib/libslipway.so* >/dev/null 2>&1 && ok "installed libslipway" || bad "installed libslipway"
# Built-in plugins are installed; test and example plugins are not.
builtins=$(cd "$SW_BUILD_DIR/lib/slipway/plugins" 2>/dev/null && ls *.so 2>/dev/null)
for so in $builtins; do
    [ -f "$P/lib/slipway/plugins/$so" ] && ok "built-in $so installed" || bad "built-in $so installed"
done
strays=$(find "$P" -name 'emit.so' -o -name 'old_minor.so' -o -name 'slack-notify.so' -o -name 'approval.so')
expect_eq "$strays" "" "no test or example plugin installed"

out=$("$S" --version 2>&1); rc=$?
expect_rc 0 "the installed slipway runs (finds the installed libslipway)"
expect_out "plugin ABI" "and says its ABI"
lib=$(ldd "$S" | awk '/libslipway/ {print $3}')
case "$lib" in "$P"/*) ok "it links the installed libslipway";; *) bad "it links $lib";; esac
out=$("$S" plugins 2>&1); rc=$?
expect_rc 0 "slipway plugins"
for so in $builtins; do
    expect_out "$P/lib/slipway/plugins/$so" "the installed slipway finds the built-in ${so%.so}"
done

# ---- scaffold ----
cd "$T"
out=$("$S" new-plugin greeter "$T/greeter" 2>&1); rc=$?
expect_rc 0 "slipway new-plugin greeter"
for f in CMakeLists.txt README.md src/greeter.c tests/check_greeter.c; do
    [ -f "$T/greeter/$f" ] && ok "scaffold has $f" || bad "scaffold has $f"
done
if grep -rq '@NAME@\|@IDENT@\|@SLIPWAY_VERSION@' "$T/greeter"; then bad "placeholders left"; else ok "every placeholder filled"; fi
grep -q '.name = "greeter"' "$T/greeter/src/greeter.c" && ok "the descriptor is named greeter" || bad "descriptor name"
out=$("$S" new-plugin greeter "$T/greeter" 2>&1); rc=$?
expect_rc 2 "new-plugin refuses a folder that is not empty"
out=$("$S" new-plugin Bad_Name 2>&1); rc=$?
expect_rc 2 "new-plugin refuses a bad name"
out=$("$S" new-plugin my-stage 2>&1); rc=$?
expect_rc 0 "new-plugin with a dash, into ./my-stage"
grep -q 'add_executable(check_my_stage' "$T/my-stage/CMakeLists.txt" && ok "identifiers use '_'" || bad "identifiers use '_'"

# ---- build out of tree with the installed SDK only ----
out=$(cmake -S "$T/greeter" -B "$T/greeter/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" 2>&1); rc=$?
expect_rc 0 "configure with find_package(Slipway)"
expect_eq "$(grep '^Slipway_DIR' "$T/greeter/build/CMakeCache.txt" | cut -d= -f2)" "$P/lib/cmake/Slipway" \
    "it found the installed package"
out=$(cmake --build "$T/greeter/build" 2>&1); rc=$?
expect_rc 0 "build greeter.so and its test"
out=$(ctest --test-dir "$T/greeter/build" --output-on-failure 2>&1); rc=$?
expect_rc 0 "the plugin's own harness test passes"
if grep -qvx 'sw_plugin_entry' <<<"$(nm -D --defined-only "$T/greeter/build/greeter.so" | awk '{print $3}')"; then
    bad "greeter.so exports only sw_plugin_entry"
else
    ok "greeter.so exports only sw_plugin_entry"
fi

cat >"$T/greet.yaml" <<'YAML'
version: 1
name: greet
vars:
  score: 0.97
stages:
  - id: judge
    uses: greeter
    with: { min_score: 0.9, label: nightly }
    gate: judge.passed and judge.score > 0.95
YAML
out=$("$S" check "$T/greet.yaml" --plugin-path "$T/greeter/build" 2>&1); rc=$?
expect_rc 0 "slipway check knows the plugin's parameters and outputs"
out=$("$S" run "$T/greet.yaml" --plugin-path "$T/greeter/build" 2>&1); rc=$?
expect_rc 0 "the plugin runs in a pipeline"
expect_out "[judge greeter] info: judging nightly" "with its log prefix"
out=$("$S" run "$T/greet.yaml" --set vars.score=0.5 --plugin-path "$T/greeter/build" 2>&1); rc=$?
expect_rc 1 "a low score fails the run"
expect_out "nightly failed: score 0.500" "with the plugin's reason"

# Installed into the same prefix, the installed slipway finds it with no option.
out=$(cmake --install "$T/greeter/build" --prefix "$P" 2>&1); rc=$?
expect_rc 0 "cmake --install the plugin"
[ -f "$P/lib/slipway/plugins/greeter.so" ] && ok "installed beside the built-in plugins" || bad "plugin install dir"
out=$("$S" run "$T/greet.yaml" 2>&1); rc=$?
expect_rc 0 "the installed slipway finds the installed plugin by default"
rm -f "$P/lib/slipway/plugins/greeter.so"

# ---- the pkg-config route ----
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
mkdir -p "$T/pc"
out=$($CC $(pkg-config --cflags slipway-plugin) $SAN -std=c11 -Wall -Werror -shared -fPIC -fvisibility=hidden \
      -Wl,--no-undefined -o "$T/pc/greeter.so" "$T/greeter/src/greeter.c" 2>&1); rc=$?
expect_rc 0 "cc \$(pkg-config --cflags slipway-plugin) -shared -fPIC"
case "$(pkg-config --cflags slipway-plugin)" in *"$P"*) ok "the .pc file points into the prefix";; *) bad "pc cflags";; esac
out=$("$S" run "$T/greet.yaml" --plugin-path "$T/pc" 2>&1); rc=$?
expect_rc 0 "the pkg-config-built plugin runs in a pipeline"
if pkg-config --exists check; then
    out=$($CC -std=c11 $SAN -DPLUGIN_PATH="\"$T/pc/greeter.so\"" -o "$T/pc/check_greeter" \
          "$T/greeter/tests/check_greeter.c" $(pkg-config --cflags --libs slipway check) 2>&1); rc=$?
    expect_rc 0 "its test builds with \$(pkg-config --libs slipway check)"
    out=$("$T/pc/check_greeter" 2>&1); rc=$?
    expect_rc 0 "and passes"
fi

# ---- an installed example, built out of tree ----
cp -r "$P/share/slipway/examples/slack-notify" "$T/slack"
out=$(cmake -S "$T/slack" -B "$T/slack/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" 2>&1 &&
      cmake --build "$T/slack/build" 2>&1); rc=$?
expect_rc 0 "the installed slack-notify example builds out of tree"
out=$("$S" plugins show slack-notify --plugin-path "$T/slack/build" 2>&1); rc=$?
expect_out "(secret)" "and describes its secret url"
finish
