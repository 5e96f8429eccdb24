"""The real-NeMo stage: the overlay's nemo engine against the installed NeMo.

Runs in a NeMo venv (scripts/nemo-venv.sh), never the project's .venv. Tiny
random-weight models are built once per NeMo version (tiny_models.py) and
restored by the engine like any .nemo file. Without NeMo, collection fails:
this stage fails, it never skips.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nemo  # no NeMo, no stage: collection fails here, loudly
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PATCHES = ROOT / "files" / "parakeet_patches"
AUDIO = ROOT / "files" / "audio"
sys.path.insert(0, str(PATCHES))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asr_audio  # noqa: E402 - the overlay folder must be on sys.path first
import asr_settings  # noqa: E402
import tiny_models  # noqa: E402
from asr_engine_nemo import NemoEngine  # noqa: E402

MODEL_CACHE = Path(os.environ.get("NEMO_MODEL_CACHE", ROOT / ".cache" / "nemo-models"))


def pytest_report_header() -> str:
    return f"nemo_toolkit {nemo.__version__} (tests/nemo: the nemo engine on the real library)"


@pytest.fixture(scope="session")
def models() -> tuple[Path, Path]:
    return tiny_models.ensure(MODEL_CACHE)


def settings_for(models: tuple[Path, Path], **env: str) -> asr_settings.Settings:
    asr, diar = models
    return asr_settings.load({"ASR_NEMO_MODEL": str(asr), "DIAR_NEMO_MODEL": str(diar), **env})


@pytest.fixture(scope="session")
def settings(models) -> asr_settings.Settings:
    return settings_for(models)


@pytest.fixture(scope="session")
def engine(settings) -> NemoEngine:
    eng = NemoEngine(settings)
    eng.load()
    return eng


def load_fixture(name: str) -> np.ndarray:
    """A speech fixture decoded the way the server decodes an upload."""
    return asr_audio.decode((AUDIO / name).read_bytes(), max_seconds=60).samples


@pytest.fixture(scope="session")
def clips() -> dict[str, np.ndarray]:
    """Real speech, a sub-second slice of it, and (on purpose) silence."""
    single = load_fixture("single_speaker.wav")
    return {
        "single_speaker": single,
        "two_speakers": load_fixture("two_speakers.wav"),
        "short_0.6s": single[asr_audio.RATE:asr_audio.RATE + 9600].copy(),   # inside the first sentence
        "silence_2s": np.zeros(2 * asr_audio.RATE, dtype=np.float32),
    }
