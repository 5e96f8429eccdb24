#!/usr/bin/env bash
# ansible-test sanity on a built and installed copy of the collection:
# ansible-test needs the tree to sit at ansible_collections/<ns>/<name>.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
work=$repo/.cache/sanity
rm -rf "$work"
mkdir -p "$work/dist"
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$repo" >/dev/null
"$bin/ansible-galaxy" collection install --force --no-deps -p "$work" "$work"/dist/*.tar.gz >/dev/null
cd "$work/ansible_collections/spark_control/audio"
# Each sanity test gets its own virtualenv with the requirements ansible-test
# pins (fetched from PyPI, cached by pip between runs).
exec "$bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
