"""Helpers shared by the bare-host tests and their fixtures."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
SUFFIX = os.environ.get("SPARK_BENCH_SUFFIX", "")
OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))
DEV_BIN = Path(sys.executable).parent
INVENTORY = REPO / "tests/bare_host/inventory.yml"
HOST = "spark2-bare"
VENV = "/opt/spark_control/venv"
# requirements/audio-host.txt as name -> version: what a prepared host's venv holds, exactly.
PINS = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in
        (line.split("#", 1)[0].strip().split("==", 1)
         for line in (REPO / "requirements/audio-host.txt").read_text().splitlines()
         if line.split("#", 1)[0].strip())}


def run(argv: list, timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)


def must(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, f"{' '.join(done.args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-3000:]}"
    return done


def recap(done: subprocess.CompletedProcess, host: str = HOST) -> dict:
    """The PLAY RECAP counters of ``host`` (the last recap line for it)."""
    lines = [line for line in done.stdout.splitlines() if line.startswith(host) and "ok=" in line]
    assert lines, f"no recap for {host}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def cached_venv(requirements: Path, venv: Path) -> Path:
    """A virtualenv holding ``requirements``, reused while that file is unchanged; its ``bin`` folder."""
    stamp = venv / ".spark-requirements.sha256"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(venv, ignore_errors=True)
        must(run([sys.executable, "-m", "venv", venv]))
        must(run([venv / "bin/python", "-m", "pip", "install", "--quiet", "--requirement", requirements]))
        stamp.write_text(digest)
    return venv / "bin"
