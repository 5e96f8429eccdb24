#!/usr/bin/env bash
# Regenerate files/audio/ inside the kokoro bench image (Piper + espeak-ng),
# with no network. `make fixtures` builds the image first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
docker run --rm --network none -v "$repo:/src" -w /src spark-bench/kokoro:latest \
    python scripts/make_fixtures.py files/audio
ls -l "$repo"/files/audio
