# scripts/lib/haproxy.sh - HAProxy in front of `slipway serve` replicas on loopback, as a team
# would put a load balancer in front of them: round robin, no affinity (each request may reach
# another replica), health checks every 200 ms (a replica is out after one failed check and
# back after two good ones), a request whose connection fails sent to another replica. For
# tests/integration/router_cluster_*.sh and scripts/demo-cluster.sh. Sourced; sets no trap.
#
#   haproxy_start DIR PORT...   HAProxy on a free loopback port in front of 127.0.0.1:PORT for
#                 each PORT; its config and log in DIR; returns once it listens (at most
#                 20 s). Sets HAPROXY_PID and HAPROXY_URL. Returns 2 when haproxy is not
#                 installed (scripts/bootstrap.sh --test or --cluster installs it), 1 when it
#                 does not start (its log on stderr).
. "$(dirname "${BASH_SOURCE[0]}")/loopback.sh"
HAPROXY_PID=""
HAPROXY_URL=""

haproxy_start() {
    local dir=$1
    shift
    command -v haproxy >/dev/null || {
        echo "haproxy is not installed (scripts/bootstrap.sh --test installs it)" >&2
        return 2
    }
    local port n=0 p
    port=$(free_port)
    {
        printf 'defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n'
        printf '  timeout server 30s\n  retries 3\n  option redispatch\n'
        printf 'frontend routers\n  bind 127.0.0.1:%s\n  default_backend replicas\n' "$port"
        printf 'backend replicas\n  balance roundrobin\n'
        for p in "$@"; do
            n=$((n + 1))
            printf '  server r%d 127.0.0.1:%s check inter 200ms fall 1 rise 2\n' "$n" "$p"
        done
    } >"$dir/haproxy.cfg"
    haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    HAPROXY_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 400); do
        # Listening (bash's own TCP connect: no curl needed).
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$HAPROXY_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/haproxy.log" >&2
    return 1
}
