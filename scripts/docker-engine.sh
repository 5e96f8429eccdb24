#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine.
#
# Installs Debian's docker.io when no engine is present (root on Debian only)
# and starts dockerd without a bridge or iptables rules: every bench container
# uses host networking and binds 127.0.0.1, so no traffic can leave loopback.
set -euo pipefail

log() { printf 'docker-engine: %s\n' "$*" >&2; }

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
    log "engine already answers (server $(docker version --format '{{.Server.Version}}'))"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! grep -qi '^ID=debian' /etc/os-release 2>/dev/null; then
        log "no Docker engine found. Install one (Debian: 'apt-get install docker.io'," \
            "elsewhere: your distribution's Docker Engine package), start it, and re-run."
        exit 2
    fi
    log "installing Debian's docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if [ "$(id -u)" != 0 ]; then
    log "dockerd is installed but not running, and starting it needs root. Start it with:" \
        "dockerd --bridge=none --iptables=false --ip6tables=false"
    exit 2
fi

# No systemd in the sandboxes this runs in: start dockerd directly, detached.
log "starting dockerd (--bridge=none --iptables=false)"
mkdir -p /var/log
nohup dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --host=unix:///var/run/docker.sock >/var/log/spark-bench-dockerd.log 2>&1 &

for _ in $(seq 1 60); do
    if engine_answers; then
        log "engine is up (server $(docker version --format '{{.Server.Version}}'))"
        exit 0
    fi
    sleep 1
done
log "dockerd did not answer within 60 s; its log follows"
tail -n 40 /var/log/spark-bench-dockerd.log >&2 || true
exit 1
