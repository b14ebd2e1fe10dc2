#!/usr/bin/env bash
# Install, on Debian or Ubuntu, whatever Slipway needs and is missing.
#   scripts/bootstrap.sh          what building and the demo need
#   scripts/bootstrap.sh --test   plus what the test suite needs: the sanitizers' and the
#                                 fuzzers' clang, valgrind, a real Prometheus server (the monitor's
#                                 Prometheus source), headless Chromium (the HTML report) and a
#                                 PostgreSQL server (the release store's PostgreSQL backend) and
#                                 HAProxy (router replicas behind a load balancer)
#   scripts/bootstrap.sh --cluster  plus what scripts/demo-cluster.sh needs: the PostgreSQL
#                                 server, HAProxy and python3 (their services not started)
# Packages already installed are left alone; nothing is installed when nothing is missing.
set -euo pipefail

packages=(build-essential cmake pkg-config libyaml-dev libjansson-dev libcurl4-openssl-dev
          liblua5.4-dev libmicrohttpd-dev libpq-dev check)
case "${1:-}" in
--test) packages+=(python3 valgrind clang libclang-rt-14-dev prometheus chromium postgresql haproxy) ;;
--cluster) packages+=(python3 postgresql haproxy) ;;
"") ;;
*) echo "usage: scripts/bootstrap.sh [--test | --cluster]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
# Packages with a daemon (prometheus, postgresql, haproxy) must not start it: the tests start their own, on
# free loopback ports (and so does scripts/demo-cluster.sh). policy-rc.d is Debian's switch for that; one already there is left alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    trap '$sudo rm -f "$policy"' EXIT
fi
# postgresql-common would also create a "main" cluster in /var/lib/postgresql: the tests make
# their own in a temp folder, so none is wanted.
createcluster=/etc/postgresql-common/createcluster.d/slipway.conf
if [ ! -e "$createcluster" ]; then
    $sudo mkdir -p "$(dirname "$createcluster")"
    echo "create_main_cluster = false" | $sudo tee "$createcluster" >/dev/null
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
