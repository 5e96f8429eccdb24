#!/usr/bin/env bash
# Debian packages the bench and the tests need on the host (root on Debian):
# debootstrap builds the bench base image, ShellCheck serves ansible-test's
# shell check, systemd-analyze verifies the deep-health units, the SSH
# client reaches the bare audio host of tests/bare_host, and prometheus (with
# promtool) and prometheus-node-exporter serve the alert-rule tests; the tests
# start those two daemons themselves, on loopback.
set -euo pipefail
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
command -v ssh-keyscan >/dev/null 2>&1 || need+=(openssh-client)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "host-deps: missing ${need[*]}; install them with your package manager" >&2
    exit 2
fi
echo "host-deps: installing ${need[*]}" >&2
# The packages would start their daemons on every interface: a policy-rc.d
# that refuses keeps them stopped (an existing one is left as it is).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# host-deps.sh: no daemon starts while packages install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
