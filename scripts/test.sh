#!/usr/bin/env bash
# Every test of the collection, in order of cost. Each stage runs even when an
# earlier one failed, so one run shows every failure; the exit code is
# non-zero when any stage failed. Called by `make test` after set-up.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/.venv/bin
coll=$repo/.cache/collections/ansible_collections/spark_control/audio
cd "$repo" || exit 2

failed=()
failed_logs=()
stages=0
logs=$repo/.cache/test-logs
rm -rf "$logs" && mkdir -p "$logs"
# Each stage's output goes to the terminal and to its own log, so the end of
# the run can repeat the last lines of every failed stage (a short CI tail
# then shows why, not only which).
stage() {
    local name=$1; shift
    stages=$((stages + 1))
    local log=$logs/$stages.log
    printf '\n==== %s ====\n' "$name"
    local start=$SECONDS
    if "$@" 2>&1 | tee "$log"; then
        printf -- '---- %s: ok (%ss)\n' "$name" $((SECONDS - start))
    else
        printf -- '---- %s: FAILED (%ss)\n' "$name" $((SECONDS - start))
        failed+=("$name")
        failed_logs+=("$log")
    fi
}

pytest_in_collection() { (cd "$coll" && "$bin/python" -m pytest -q -p no:cacheprovider "$@"); }
# Fragments and the generated changelog.yaml (CHANGELOG.rst: `make changelog`).
changelog_lint() {
    (cd "$coll" && "$bin/antsibull-changelog" lint && "$bin/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml)
}

stage "inventory.example parses" "$bin/ansible-inventory" -i inventory.example --list --yaml
stage "unit tests" pytest_in_collection tests/unit
stage "real NeMo 3.0 + 2.5 (nemo engine, tiny models)" bash scripts/nemo-test.sh
stage "changelog lint" changelog_lint
stage "prometheus rules (promtool)" bash scripts/prometheus-rules.sh
stage "collection build" bash scripts/check-build.sh "$repo/.cache/dist"
stage "audio-host wheels for DGX OS (aarch64, Python 3.12)" bash scripts/check-host-wheels.sh
stage "ansible-lint (production)" "$bin/ansible-lint" --profile production
stage "ansible-test sanity" bash scripts/sanity.sh
stage "bench up" "$bin/ansible-playbook" -i tests/bench/inventory.yml tests/bench/playbooks/up.yml
# The Prometheus test has its own stage (and timing line).
stage "integration tests (real containers)" pytest_in_collection tests/integration \
    --ignore=tests/integration/prometheus
stage "prometheus end to end (node_exporter, prometheus, bench)" pytest_in_collection tests/integration/prometheus
# A venv with only ansible-core and the built tarball drives a bare audio host
# (python3 + python3-venv, sshd) over real SSH: unprepared hint, prepare,
# reapply, deep health, idempotent re-prepare.
stage "fresh controller drives a bare audio host over SSH" \
    "$bin/python" -m pytest -q -p no:cacheprovider tests/bare_host --ignore=tests/bare_host/ee
# The execution environment (execution-environment.yml) built with
# ansible-builder on the Debian base, offline (rebuilt only when its inputs
# change), then prepare/reapply/deep health inside it with ansible-runner and
# Docker, as AWX runs jobs, against a bare host over SSH.
stage "execution environment: ansible-builder image, AWX-style jobs in it" \
    "$bin/python" -m pytest -q -p no:cacheprovider tests/bare_host/ee
# One stage per scenario: `molecule test --all` stops at the first failure,
# which would hide the others.
for scenario in extensions/molecule/*/molecule.yml; do
    name=$(basename "$(dirname "$scenario")")
    stage "molecule $name" "$bin/molecule" test -s "$name"
done

if [ ${#failed[@]} -gt 0 ]; then
    for i in "${!failed[@]}"; do
        printf '\n==== last lines of the failed stage: %s ====\n' "${failed[$i]}"
        tail -n 40 "${failed_logs[$i]}"
    done
    printf '\nFAILED stages: %s\n' "${failed[*]}"
    exit 1
fi
printf '\nAll stages passed.\n'
