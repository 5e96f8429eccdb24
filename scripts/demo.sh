#!/usr/bin/env bash
# The main job against the local bench (started by `make bench-up`): reapply
# the parakeet overlay, then run the deep health check, and print a summary.
# The bench stays up afterwards; `make bench-down` stops it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
inv=tests/bench/inventory.yml
cd "$repo"

results=()
run() {
    local title=$1; shift
    printf '\n==== %s ====\n' "$title"
    if "$bin/ansible-playbook" -i "$inv" "$@"; then
        results+=("ok      $title")
    else
        results+=("FAILED  $title")
    fi
}

run "reapply the parakeet overlay" playbooks/reapply_patches.yml
run "deep health check (every probe, real speech)" playbooks/deep_health.yml

printf '\n==== demo summary ====\n'
printf '%s\n' "${results[@]}"
printf 'bench: STT %s, TTS %s, Spark Control %s (still running; make bench-down stops it)\n' \
    http://127.0.0.1:8010 http://127.0.0.1:8880 http://127.0.0.1:9999
printf '%s\n' "${results[@]}" | grep -q '^FAILED' && exit 1
exit 0
