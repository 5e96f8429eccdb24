#!/usr/bin/env bash
# Debian packages the bench and the tests need on the host (root on Debian):
# debootstrap builds the bench base image, ShellCheck serves ansible-test's
# shell check, and systemd-analyze verifies the deep-health units.
set -euo pipefail
need=()
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "host-deps: missing ${need[*]}; install them with your package manager" >&2
    exit 2
fi
echo "host-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
