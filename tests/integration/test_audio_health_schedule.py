"""deep_health_schedule for real: unit files written, verified by systemd-analyze,
idempotent, removed again. systemd is not running here, so the role is told not
to reload it; the files are checked offline with `systemd-analyze verify`."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze is not installed (apt-get install systemd)")


def play(tmp_path: Path, **role_vars) -> subprocess.CompletedProcess:
    values = {
        "deep_health_schedule_unit_dir": str(tmp_path / "units"),
        "deep_health_schedule_manage_systemd": False,
        "deep_health_schedule_create_user": False,
        "deep_health_schedule_user": "daemon",
        "deep_health_schedule_group": "daemon",
        "deep_health_schedule_home": str(tmp_path / "home"),
        "deep_health_schedule_inventory": str(REPO / "tests/bench/inventory.yml"),
        "deep_health_schedule_environment": {"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "NOTE": "50% of $HOME"},
        **role_vars,
    }
    playbook = tmp_path / "schedule.yml"
    playbook.write_text(json.dumps([{"name": "Schedule", "hosts": "localhost", "gather_facts": False,
                                     "roles": [{"role": "spark_control.audio.deep_health_schedule",
                                                "vars": values}]}]))
    (tmp_path / "units").mkdir(exist_ok=True)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ANSIBLE_PLAYBOOK, str(playbook)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def changed(done: subprocess.CompletedProcess) -> int:
    recap = done.stdout[done.stdout.rindex("PLAY RECAP"):]
    return int(recap.split("changed=")[1].split()[0])


def test_units_are_written_verified_idempotent_and_removed(tmp_path):
    first = play(tmp_path, deep_health_schedule_calendar="hourly")
    assert first.returncode == 0, first.stdout[-3000:]
    service = tmp_path / "units/spark-audio-deep-health.service"
    timer = tmp_path / "units/spark-audio-deep-health.timer"
    text = service.read_text()
    assert "Type=oneshot" in text and "User=daemon" in text
    assert "playbooks/deep_health.yml" in text and "deep_health_report_dir" in text
    assert 'Environment="NOTE=50%% of $HOME"' in text
    assert "OnCalendar=hourly" in timer.read_text()
    verify = subprocess.run(["systemd-analyze", "verify", str(service), str(timer)], capture_output=True, text=True,
                            check=False)
    assert verify.returncode == 0 and str(service) not in verify.stderr, verify.stderr

    again = play(tmp_path, deep_health_schedule_calendar="hourly")
    assert again.returncode == 0 and changed(again) == 0, again.stdout[-3000:]

    gone = play(tmp_path, deep_health_schedule_state="absent")
    assert gone.returncode == 0, gone.stdout[-3000:]
    assert not service.exists() and not timer.exists()


def test_a_bad_calendar_is_caught_by_systemd_analyze(tmp_path):
    done = play(tmp_path, deep_health_schedule_calendar="every other tuesday")
    assert done.returncode != 0
    assert "calendar" in done.stdout.lower(), done.stdout[-3000:]


def test_root_is_refused(tmp_path):
    done = play(tmp_path, deep_health_schedule_user="root")
    assert done.returncode != 0 and "unprivileged user" in done.stdout
    assert not (tmp_path / "units/spark-audio-deep-health.service").exists()
