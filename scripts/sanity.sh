#!/usr/bin/env bash
# ansible-test sanity on a built and installed copy of the collection:
# ansible-test needs the tree to sit at ansible_collections/<ns>/<name>.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
# Outside the checkout: inside it, ansible-test would ask git which files
# exist and find the ignored copy empty.
work=${SPARK_AUDIO_SANITY_DIR:-/var/tmp/spark-audio-sanity}
rm -rf "$work"
mkdir -p "$work/dist"
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" "$repo" >/dev/null
"$bin/ansible-galaxy" collection install --force --no-deps -p "$work" "$work"/dist/*.tar.gz >/dev/null
# ansible-test bootstraps pip in its virtualenvs with a get-pip.py it downloads
# from outside the package registries: give it a stand-in built on PyPI's wheel.
pip_version=$("$bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as N
print(g(N(version="3.11", path="/usr/bin/python3"))["pip"])')
cache=$HOME/.ansible/test/cache
stand_in=$cache/get_pip_${pip_version//./_}.py
mkdir -p "$cache"
if [ ! -f "$cache/pip-$pip_version-py3-none-any.whl" ]; then
    "$bin/pip" download --quiet --no-deps --dest "$cache" "pip==$pip_version"
fi
cp "$cache/pip-$pip_version-py3-none-any.whl" "$cache/pip.whl"
cp "$repo/scripts/ansible_test_get_pip.py" "$stand_in"
cd "$work/ansible_collections/spark_control/audio"
# Each sanity test gets its own virtualenv with the requirements ansible-test
# pins (fetched from PyPI, cached by pip between runs).
exec "$bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
