# scripts/lib/demo.sh - the demo's story, told by scripts/demo.sh (one router, the state in a
# folder) and scripts/demo-cluster.sh (two routers behind HAProxy, the state in PostgreSQL).
# Sourced from the checkout's root with $demo (the demo's folder) set, under set -euo pipefail.
#
#   demo_begin          the demo's folder, the exit trap (every process in $pids is stopped,
#                       then demo_stop_more when the caller defines it), the mock model
#   demo_first_release  part 1: the agent as it is, versioned and made stable ($stable)
#   demo_router_config FILE STORE STATE_FILE   a router.yaml of the demo (gateway mode, in
#                       front of the mock, the admin token $demo/router.token)
#
# Then scripts/lib/demo-releases.sh, sourced: the users (slipway traffic through $router),
# parts 2 to 5 and the summary.
#
# Helpers: step TEXT, wait_port FILE NAME, newest_run.
build=${SLIPWAY_BUILD_DIR:-build}
case $build in /*) ;; *) build="$PWD/$build" ;; esac
slipway="$build/bin/slipway"
pids=()

# wait_port FILE NAME: up to 20 s for a server to write its port.
wait_port() {
    local i
    for i in $(seq 1 400); do
        [ -s "$1" ] && { cat "$1"; return 0; }
        sleep 0.05
    done
    echo "demo: $2 did not start; its log:" >&2
    cat "$demo/$2.log" >&2
    return 1
}

step() { printf '\n== %s\n' "$*"; }
# newest_run: the id of the newest run.
newest_run() { ls -1 "$SLIPWAY_STATE_DIR/runs" | sort | tail -n 1; }

# Every process started here is stopped on the way out, however the script ends.
demo_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    echo "${pids[*]}" >"$demo/pids"
    if declare -F demo_stop_more >/dev/null; then demo_stop_more; fi
}

demo_begin() {
    started=$(date +%s)
    rm -rf "$demo"
    mkdir -p "$demo"
    export SLIPWAY_STATE_DIR="$demo/state"
    export SLIPWAY_DEMO_PROVIDER_KEY=mock-needs-no-key
    cp -r examples/support-agent "$demo/support-agent"
    bundle="$demo/support-agent"
    trap demo_cleanup EXIT
    trap 'exit 130' INT TERM

    step "starting the model (slipway mock)"
    "$slipway" mock --scenario pipelines/demo/mock.yaml --port-file "$demo/mock.port" \
        >"$demo/mock.log" 2>&1 &
    pids+=($!)
    mock_port=$(wait_port "$demo/mock.port" mock)
    echo "mock: http://127.0.0.1:$mock_port/v1"
}

demo_first_release() {
    step "1/5  the support agent as it is: versioned, reviewed by a Lua policy, made stable"
    # `slipway run` ends by printing where the run's report.html is: one self-contained page (the
    # stages, the timeline, the eval's cases, the canary's steps, the monitor's looks, the rollback).
    "$slipway" run pipelines/demo.yaml --set "vars.bundle=$bundle"
    first_run=$(newest_run)
    "$slipway" releases set support-agent stable support-agent:candidate
    stable=$("$slipway" releases channels support-agent --json |
        sed -n 's/.*"stable": *"\([0-9a-f]*\)".*/\1/p')
}

demo_router_config() {
    [ -s "$demo/router.token" ] || {
        head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$demo/router.token"
        chmod 600 "$demo/router.token"
    }
    cat >"$1" <<YAML
listen: 127.0.0.1:0
state_file: $3
store: $2
admin: {token_file: $demo/router.token}
upstream: {retries: 0, connect_timeout_ms: 2000, timeout_ms: 10000}
providers:
  openai: {base_url: "http://127.0.0.1:$mock_port/v1", api_key_env: SLIPWAY_DEMO_PROVIDER_KEY}
  anthropic: {base_url: "http://127.0.0.1:$mock_port/v1", api_key_env: SLIPWAY_DEMO_PROVIDER_KEY}
agents:
  support-agent:
    mode: gateway
    route: {stable: "$stable", weight: 0}
YAML
}
