"""Bench fault switches, shared by the bench's stand-in servers and its overlay engine.

Test infrastructure. The bench's tests write ``/run/spark-bench/faults.json``
(path: env SPARK_BENCH_FAULTS) into a container; it is read on every request,
and an absent or malformed file means no faults. Keys: ``fail_503_until``
(unix time; answer 503 + Retry-After: 1 until then), ``garble`` (STT answers
wrong words), ``silence`` (TTS answers silence). The GB10 CUDA-graph hazard
is emulated on the condition ``cuda_importable`` tells.
"""
from __future__ import annotations

import importlib.util
import json
import os
import time

PATH = os.environ.get("SPARK_BENCH_FAULTS", "/run/spark-bench/faults.json")


def read(path: str | None = None) -> dict:
    try:
        with open(path or PATH, encoding="utf-8") as handle:
            faults = json.load(handle)
    except (OSError, ValueError):
        return {}
    return faults if isinstance(faults, dict) else {}


def unavailable(faults: dict, now: float | None = None) -> bool:
    """True while ``fail_503_until`` is a number in the future (anything else: no fault)."""
    until = faults.get("fail_503_until", 0)
    if isinstance(until, bool) or not isinstance(until, (int, float)):
        return False
    return until > (time.time() if now is None else now)


def garble(text: str) -> str:
    """Wrong words, same count: each word spelt backwards."""
    return " ".join(word[::-1] for word in text.split())


def cuda_importable() -> bool:
    """cuda-python / cuda-bindings installed (they provide the top-level module
    ``cuda``): with it NeMo may take the CUDA-graph decode path that crashes
    real decodes on GB10."""
    return importlib.util.find_spec("cuda") is not None
