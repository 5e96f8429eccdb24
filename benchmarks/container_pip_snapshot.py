"""container_pip: reading a container's pip state in one process vs the naive three.

Before resolving anything, container_pip needs pip's version, every installed
distribution and the image's constraint file. The naive way runs
``pip --version``, ``pip list --format=json`` and ``cat`` through
``docker exec``; container_pip runs one small Python script
(``_pip/container.py``, ``_SNAPSHOT``). Same run, same container (a fresh one of the
bench's parakeet-asr image, NGC-like pip setup), rounds alternating which
goes first. Each round also checks that both ways see the same packages.

    python benchmarks/container_pip_snapshot.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
# Run from a checkout, the collection is importable through the Makefile's link.
if importlib.util.find_spec("ansible_collections") is None:
    sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import machine, write_section  # noqa: E402

from ansible_collections.spark_control.audio.plugins.module_utils._pip.container import ContainerPython  # noqa: E402
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical  # noqa: E402

IMAGE = f"spark-bench/parakeet-asr:{os.environ.get('SPARK_BENCH_TAG', 'latest')}"
NAME = f"pip-bench{os.environ.get('SPARK_BENCH_SUFFIX', '')}"
CONSTRAINT = "/etc/pip/constraint.txt"


def snapshot_way(pyc: ContainerPython) -> tuple[float, dict]:
    start = time.perf_counter()
    snap = pyc.snapshot([CONSTRAINT])
    elapsed = time.perf_counter() - start
    assert snap.files[CONSTRAINT], "constraint file missing"
    return elapsed, {name: version for name, (_unused, version) in snap.installed.items()}


def naive_way(pyc: ContainerPython) -> tuple[float, dict]:
    start = time.perf_counter()
    version = pyc.pip(["--version"])
    listing = pyc.pip(["list", "--format=json"])
    text = pyc.run(["cat", CONSTRAINT])
    elapsed = time.perf_counter() - start
    assert version.rc == 0 and listing.rc == 0 and text.rc == 0 and text.output
    return elapsed, {canonical(d["name"]): d["version"] for d in json.loads(listing.output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    client = docker.from_env(timeout=120)
    try:
        client.containers.get(NAME).remove(force=True)
    except docker.errors.NotFound:
        pass
    box = client.containers.run(IMAGE, ["sleep", "infinity"], name=NAME, detach=True, network_mode="none",
                                labels={"spark-bench.member": "true"})
    try:
        pyc = ContainerPython(box, "python")
        snapshot_way(pyc), naive_way(pyc)  # warm-up: page cache, first exec
        fast, slow = [], []
        for index in range(args.rounds):
            order = (snapshot_way, naive_way) if index % 2 == 0 else (naive_way, snapshot_way)
            seen = {}
            for way in order:
                elapsed, packages = way(pyc)
                (fast if way is snapshot_way else slow).append(elapsed)
                seen[way.__name__] = packages
            if seen["snapshot_way"] != seen["naive_way"]:
                sys.exit(f"the two ways disagree: {set(seen['snapshot_way'].items()) ^ set(seen['naive_way'].items())}")
            print(f"round {index + 1}: snapshot {fast[-1]:.3f} s, naive {slow[-1]:.3f} s", flush=True)
    finally:
        box.remove(force=True)
    fast_med, slow_med = statistics.median(fast), statistics.median(slow)
    lines = [
        "## container_pip: reading a container's pip state",
        "",
        f"`benchmarks/container_pip_snapshot.py`, {args.rounds} rounds, {machine()}.",
        "What container_pip needs before resolving: pip's version, the installed distributions and the image's",
        "constraint file, from a fresh container of the bench's parakeet-asr image (NGC-like pip setup).",
        "Naive way: `pip --version`, `pip list --format=json` and `cat` through `docker exec`. container_pip:",
        "one exec of a small Python script. Rounds alternate which goes first; every round checks that both",
        "see the same packages and versions.",
        "",
        "| | median seconds |",
        "| --- | --- |",
        f"| naive: three execs | {slow_med:.3f} |",
        f"| container_pip: one snapshot exec | {fast_med:.3f} |",
        "",
        f"Naive / snapshot: **{slow_med / fast_med:.1f}x**. container_pip takes a snapshot at the start of every",
        "run and again after installing, so this is paid twice per install (once per check-only run).",
    ]
    write_section("container_pip", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
