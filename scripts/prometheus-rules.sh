#!/usr/bin/env bash
# The shipped Prometheus alert rules and metric names, checked with
# Debian's promtool (package prometheus, installed by scripts/host-deps.sh):
# the rules load, their unit tests pass, and the metrics the report filter
# writes for healthy, failing and unprobed hosts follow Prometheus' naming
# conventions.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
if ! command -v promtool >/dev/null 2>&1; then
    echo "prometheus-rules: promtool not found; install Debian's 'prometheus' package (bash scripts/host-deps.sh)" >&2
    exit 2
fi
promtool check rules files/prometheus/spark_audio_alerts.yml
promtool test rules tests/prometheus/spark_audio_alerts_test.yml

metrics=$(mktemp)
trap 'rm -f "$metrics"' EXIT
PYTHONPATH=$repo/.cache/collections "$repo/.venv/bin/python" - >"$metrics" <<'PY'
from ansible_collections.spark_control.audio.plugins.filter.audio_health import audio_health_prometheus

ok = {"name": "stt:single_speaker", "ok": True, "latency": 1.7}
failed = {"name": "tts:af_heart", "ok": False, "latency": 0.02, "failure": "service_down", "message": "502"}
print(audio_health_prometheus({
    "spark2": {"llm_model": "nvidia/llm", "probes": [ok, failed]},
    "spark3": {"probes": [ok]},
    "spark4": {"msg": "unreachable"},
}, 1700000000.0), end="")
PY
# Every family the rules read must be in the sample, or the check proves little.
for family in probe_success probe_duration_seconds probe_failure_info host_healthy llm_info \
        last_run_timestamp_seconds; do
    grep -q "^# TYPE spark_audio_$family " "$metrics" || { echo "prometheus-rules: no spark_audio_$family" >&2; exit 1; }
done
# promtool prints lint problems and exits non-zero on any.
promtool check metrics <"$metrics"
echo "prometheus-rules: rules load, rule tests pass, $(grep -c '^spark_audio_' "$metrics") sample series lint clean"
