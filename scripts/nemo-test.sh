#!/usr/bin/env bash
# The real-NeMo stage of `make test`: the nemo engine and the overlay app
# against NeMo 3.0.x and 2.5.x (tests/nemo), each line in its own venv. The
# venvs are built side by side (pip spends much of its time waiting on
# downloads), then the tests run one line after the other. Every line runs
# even when another failed; a line that cannot be built or tested fails the
# stage, it is never skipped.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 2
lines=(${NEMO_LINES:-3 2})
mkdir -p .cache/nemo-logs

pids=()
for line in "${lines[@]}"; do
    bash scripts/nemo-venv.sh "$line" > ".cache/nemo-logs/venv-$line.log" 2>&1 &
    pids+=($!)
done
status=0
built=()
for i in "${!lines[@]}"; do
    line=${lines[$i]}
    if wait "${pids[$i]}"; then
        tail -n 1 ".cache/nemo-logs/venv-$line.log"
        built+=("$line")
    else
        echo "nemo$line venv: build FAILED; its log:" >&2
        grep -v "^WARNING: Location" ".cache/nemo-logs/venv-$line.log" | tail -n 40 >&2
        status=1
    fi
done

for line in "${built[@]}"; do
    printf -- '-- NeMo line %s\n' "$line"
    ".cache/nemo$line-venv/bin/python" -m pytest -q -p no:cacheprovider -p no:warnings --durations=5 tests/nemo || status=1
done
exit $status
