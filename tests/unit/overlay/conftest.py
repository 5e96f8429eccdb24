"""Unit tests of the parakeet overlay (files/parakeet_patches/), run in-process.

The overlay is a flat folder of modules that import each other by bare name
(as they do inside the container's /app), so the folder goes on sys.path;
this folder too, for the tests' own helpers (pytest runs in importlib mode),
and the bench image's /opt/spark-bench folders (its engine and shared fault
switches), as its PYTHONPATH has them.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PATCHES = Path(__file__).resolve().parents[3] / "files" / "parakeet_patches"
AUDIO = Path(__file__).resolve().parents[3] / "files" / "audio"
BENCH_IMAGES = Path(__file__).resolve().parents[2] / "bench" / "images"
sys.path.insert(0, str(BENCH_IMAGES / "_shared"))
sys.path.insert(0, str(BENCH_IMAGES.parent.parent / "fixtures"))      # decode_bombs, shared with the integration tests
sys.path.insert(0, str(BENCH_IMAGES / "parakeet-asr" / "engine"))
sys.path.insert(0, str(PATCHES))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def wav_bytes(samples: np.ndarray, rate: int = 16000, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture
def tone():
    """One second of a 440 Hz tone at 16 kHz (float32 mono)."""
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
