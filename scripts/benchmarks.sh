#!/usr/bin/env bash
# Run every benchmark under benchmarks/ against the running bench; each one writes
# its own section of BENCHMARKS.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo/.cache/collections/ansible_collections/spark_control/audio"
# The benchmarks measure the production overlay: apply it to the bench first,
# as operators do (a fresh `make bench-up` runs the image's stock server).
"$repo/.venv/bin/ansible-playbook" -i tests/bench/inventory.yml playbooks/reapply_patches.yml
status=0
for script in benchmarks/[!_]*.py; do
    echo "==== $script"
    "$repo/.venv/bin/python" "$script" || status=1
done
exit $status
