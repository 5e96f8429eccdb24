#!/usr/bin/env bash
# Build a minimal Debian bookworm rootfs tarball for the bench base image.
#   build-rootfs.sh OUTPUT.tar
# Uses debootstrap with Debian's own mirror (the only registry this bench may
# reach) and the packages listed in packages.txt next to this script.
set -euo pipefail
out=${1:?usage: build-rootfs.sh OUTPUT.tar}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

if ! command -v debootstrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    else
        echo "build-rootfs: debootstrap is missing; install it (apt-get install debootstrap)" >&2
        exit 2
    fi
fi

include=$(grep -v '^\s*#' "$here/packages.txt" | xargs | tr ' ' ',')
work=$(mktemp -d /var/tmp/spark-bench-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase --include="$include" "$suite" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    echo "build-rootfs: debootstrap failed; last lines of its log:" >&2
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
}
# Trim what a container never needs; keep apt lists out of the image.
chroot "$work/root" apt-get clean
rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/*
tar --numeric-owner -C "$work/root" -cf "$out" .
