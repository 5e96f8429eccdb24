"""Bench fault switches (test infrastructure, cpu engine only).

The bench's tests write ``/run/spark-bench/faults.json`` (path: env
SPARK_BENCH_FAULTS) into the container; it is read on every request, and an
absent or unreadable file means no faults. Keys the overlay honours:
``garble`` (transcripts come back as wrong words) and ``fail_503_until``
(unix time; answer 503 + Retry-After until then).
"""
from __future__ import annotations

import json
import time


def read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            faults = json.load(handle)
    except (OSError, ValueError):
        return {}
    return faults if isinstance(faults, dict) else {}


def unavailable(faults: dict, now: float | None = None) -> bool:
    try:
        return float(faults.get("fail_503_until", 0)) > (time.time() if now is None else now)
    except (TypeError, ValueError):
        return False


def garble(text: str) -> str:
    """Wrong words, same count: each word spelt backwards."""
    return " ".join(word[::-1] for word in text.split())
