"""The deep_health_alerts role in check mode, with Prometheus reloaded through its HTTP API.

ansible.builtin.uri does not run in check mode, so the reload handler is
skipped; the handler after it must not read a status that was never
fetched. Runs on localhost only: the rules go to a temporary folder and the
reload URL is a closed loopback port (nothing is ever sent: check mode).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_a_dry_run_with_a_reload_url_reports_the_change_without_failing(tmp_path):
    rules = tmp_path / "rules"
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{
        "role": "spark_control.audio.deep_health_alerts",
        "vars": {"deep_health_alerts_dir": str(rules), "deep_health_alerts_owner": "{{ omit }}",
                 "deep_health_alerts_group": "{{ omit }}", "deep_health_alerts_promtool": "",
                 "deep_health_alerts_reload_url": "http://127.0.0.1:1/-/reload"}}]}]
    playbook = tmp_path / "alerts.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", "--check", str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "changed=2" in done.stdout and "failed=0" in done.stdout  # the folder and the rules file
    assert "RUNNING HANDLER [spark_control.audio.deep_health_alerts : Reload Prometheus through its HTTP API]" \
        in done.stdout
    assert not rules.exists()  # check mode wrote nothing
