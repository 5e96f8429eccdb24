#!/usr/bin/env bash
# Build (or reuse) the virtualenv of one real-NeMo line for the tests in
# tests/nemo: scripts/nemo-venv.sh 3|2 -> .cache/nemo<line>-venv from
# requirements/nemo<line>.txt. Separate from the project's .venv: NeMo's pins
# clash with ours. The stamp holds the requirements file's sha256, so a re-run
# reuses the venv and an edited file rebuilds it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
line=${1:?usage: nemo-venv.sh 3|2}
req=$repo/requirements/nemo$line.txt
venv=$repo/.cache/nemo$line-venv
python=${PYTHON:-python3}
[ -f "$req" ] || { echo "no requirements file $req" >&2; exit 2; }

want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$want" ]; then
    echo "nemo$line venv: reused ($venv)"
    exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip==26.3
# torch first, alone: the CPU build; then given again so the resolver keeps
# it instead of pulling a CUDA build for nemo_toolkit. --no-compile: most of
# these 2 GB are never imported by the tests, and byte-compiling them all
# cost minutes; Python compiles what the tests import, once, on first use.
"$venv/bin/pip" install --quiet --no-compile torch==2.13.0
"$venv/bin/pip" install --quiet --no-compile --requirement "$req" torch==2.13.0
echo "$want" > "$venv/.installed"
echo "nemo$line venv: built ($venv)"
