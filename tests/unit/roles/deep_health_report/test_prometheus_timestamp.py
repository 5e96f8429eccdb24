"""The deep_health_report role's .prom file, written by ansible-playbook on localhost as deep_health.yml writes it:
spark_audio_last_run_timestamp_seconds is the real Unix time whatever the controller's time zone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
RESULT = {"healthy": True, "probes": [{"name": "liveness", "ok": True, "latency": 0.01}]}


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_the_last_run_metric_is_the_real_unix_time(tmp_path, tz):
    play = tmp_path / "report.yml"
    play.write_text(json.dumps([{
        "name": "Write the metrics", "hosts": "localhost", "gather_facts": False,
        "roles": [{"role": "spark_control.audio.deep_health_report", "vars": {
            "deep_health_report_results": {"spark2": RESULT}, "deep_health_report_dir": str(tmp_path / "out"),
            "deep_health_report_formats": ["prometheus"]}}]}]))
    env = dict(os.environ, TZ=tz, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    before = time.time()
    done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(play)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    after = time.time()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    line = next(line for line in (tmp_path / "out/deep_health.prom").read_text().splitlines()
                if line.startswith('spark_audio_last_run_timestamp_seconds{host="spark2"} '))
    assert before - 1 <= float(line.split()[-1]) <= after + 1, (tz, line, before, after)
