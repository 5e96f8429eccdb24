#!/usr/bin/env bash
# Regenerate the real-speech fixtures inside the kokoro bench image (Piper +
# espeak-ng), with no network. `make fixtures` builds the image first.
# Usage: scripts/make-fixtures.sh [OUTPUT_DIR]   (default: files/audio)
# Piper's synthesis is not bit-for-bit deterministic: regenerating changes the
# WAVs and the turn times in two_speakers.json, which other tests read.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/files/audio}")
image=spark-bench/kokoro:latest
if ! docker image inspect "$image" >/dev/null 2>&1; then
    echo "make-fixtures: $image is missing; build it first:" \
         ".venv/bin/python tests/bench/build_images.py kokoro" >&2
    exit 1
fi
mkdir -p "$out"
docker run --rm --network none -v "$repo:/src:ro" -v "$out:/out" -w /src "$image" \
    python scripts/make_fixtures.py /out
ls -l "$out"
