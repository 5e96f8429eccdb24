"""Helpers shared by the bare-host tests and their fixtures."""
from __future__ import annotations

import os
import re
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
