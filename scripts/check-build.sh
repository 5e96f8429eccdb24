#!/usr/bin/env bash
# Build the collection tarball and check that it holds what users use and
# nothing of the development set-up (galaxy.yml build_ignore), and that the
# size the README states is still about right.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$repo/.cache/dist}
mkdir -p "$dist"
rm -f "$dist"/spark_control-audio-*.tar.gz
"$repo/.venv/bin/ansible-galaxy" collection build --force --output-path "$dist" "$repo"
tarball=$(ls "$dist"/spark_control-audio-*.tar.gz)
listing=$(tar -tzf "$tarball")
status=0

# Development-only content: the bench and what drives it.
forbidden='^(tests/(bare_host|bench|integration|fixtures|output|nemo)|scripts|benchmarks|extensions|\.ci|\.cache|\.venv|changelogs/fragments)(/|$)|^(Makefile|BENCHMARKS\.md|ansible\.cfg|requirements/(dev|ee-tools)\.txt|\.ansible-lint|\.gitignore|changelogs/\.plugin-cache\.yaml)$'
if leaked=$(grep -E "$forbidden" <<<"$listing"); then
    echo "check-build: the tarball holds development-only files (add them to build_ignore in galaxy.yml):" >&2
    while IFS= read -r path; do echo "  $path"; done <<<"$leaked" >&2
    status=1
fi

# What users use must be there.
for needed in MANIFEST.json README.md CHANGELOG.rst changelogs/changelog.yaml meta/runtime.yml \
        plugins/modules/audio_health.py playbooks/deep_health.yml roles/deep_health_report/tasks/main.yml \
        files/prometheus/spark_audio_alerts.yml files/parakeet_patches/main.py files/audio/single_speaker.wav \
        tests/prometheus/spark_audio_alerts_test.yml inventory.example requirements/controller.txt \
        requirements/audio-host.txt meta/execution-environment.yml meta/ee-requirements.txt meta/ee-bindep.txt \
        execution-environment.yml files/execution_environment/apt-pkgmgr requirements/ee.txt docs/awx.md; do
    if ! grep -qxF "$needed" <<<"$listing"; then
        echo "check-build: $needed is missing from the tarball" >&2
        status=1
    fi
done

# README: "The built tarball is about N KiB": within a quarter of the truth.
bytes=$(stat -c %s "$tarball")
kib=$(( (bytes + 512) / 1024 ))
stated=$(grep -oE 'tarball is about [0-9]+ KiB' "$repo/README.md" | grep -oE '[0-9]+' || true)
if [ -z "$stated" ]; then
    echo "check-build: README.md does not state the tarball's size ('tarball is about N KiB')" >&2
    status=1
elif [ $((kib * 4)) -lt $((stated * 3)) ] || [ $((kib * 4)) -gt $((stated * 5)) ]; then
    echo "check-build: README.md says about $stated KiB, the tarball is $kib KiB: update README.md" >&2
    status=1
fi
echo "check-build: $(basename "$tarball"): $kib KiB, $(wc -l <<<"$listing") entries"
exit $status
