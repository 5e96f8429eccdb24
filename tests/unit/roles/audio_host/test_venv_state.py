"""The audio_host probe (files/venv_state.py), run as the role runs it: python3 -c <file> VENV PINS."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "roles/audio_host/files/venv_state.py"
PINS = "# pins\ndocker==7.2.0\nRapidFuzz==3.14.6\n"
HERE = "%d.%d" % sys.version_info[:2]


def probe(venv: Path, pins: str = PINS) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT.read_text(), str(venv), pins], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def fake_venv(tmp_path: Path, freeze: str, version: str = HERE, pip_rc: int = 0) -> Path:
    """A venv whose bin/python answers `pip freeze` with ``freeze``."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version}.2\n")
    python = venv / "bin/python"
    python.write_text(f"#!/bin/sh\ncat <<'EOF'\n{freeze}EOF\nexit {pip_rc}\n")
    python.chmod(0o755)
    return venv


def test_the_platform_is_reported(tmp_path):
    state = probe(tmp_path / "none")
    assert state["python"] == HERE and state["machine"] and state["glibc"].startswith("2.")
    assert state["status"] == "absent" and state["install"] == ["docker==7.2.0", "rapidfuzz==3.14.6"]


def test_a_venv_holding_exactly_the_pins_is_current(tmp_path):
    state = probe(fake_venv(tmp_path, "docker==7.2.0\nrapidfuzz==3.14.6\n"))
    assert state["status"] == "current" and state["install"] == [] and state["remove"] == []


def test_drift_lists_what_to_install_and_what_to_remove(tmp_path):
    state = probe(fake_venv(tmp_path, "docker==7.1.0\nspark-stray @ file:///tmp/spark_stray-1.0-py3-none-any.whl\n"))
    assert state["status"] == "drift"
    assert state["install"] == ["docker==7.2.0", "rapidfuzz==3.14.6"] and state["remove"] == ["spark-stray"]


@pytest.mark.parametrize("version, rc, status, problem", [
    ("3.9", 0, "stale", "made with Python 3.9"),
    (HERE, 1, "broken", "its pip does not run"),
])
def test_a_stale_or_broken_venv_is_recreated(tmp_path, version, rc, status, problem):
    state = probe(fake_venv(tmp_path, "docker==7.2.0\n", version=version, pip_rc=rc))
    assert state["status"] == status and problem in state["problem"]
    assert state["install"] == ["docker==7.2.0", "rapidfuzz==3.14.6"]
