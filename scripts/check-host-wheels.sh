#!/usr/bin/env bash
# Check that requirements/audio-host.txt has a wheel for every pin on DGX OS
# (Ubuntu 24.04: aarch64, glibc 2.39, CPython 3.12), with the same wheelhouse
# action that prepare_audio_hosts.yml uses for air-gapped hosts, so an ARM64
# wheel gap shows up here (naming the package), not on the Spark. The wheels
# stay in .cache/wheelhouse-dgx/ for the next run (then no pip runs at all).
# Another target: DGX_MACHINE, DGX_GLIBC, DGX_PYTHON.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
cd "$repo"
export ANSIBLE_CONFIG=${ANSIBLE_CONFIG:-$repo/ansible.cfg}
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$repo/.cache/collections}
"$bin/ansible" localhost -i localhost, -c local -m spark_control.audio.wheelhouse -a "$(printf '%s ' \
    "requirements=$repo/requirements/audio-host.txt" "dest=$repo/.cache/wheelhouse-dgx" \
    "machine=${DGX_MACHINE:-aarch64}" "glibc=${DGX_GLIBC:-2.39}" "python_version=${DGX_PYTHON:-3.12}" archive=false)"
