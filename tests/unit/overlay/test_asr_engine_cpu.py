"""The cpu engine (a reference engine operators can choose): segments, words, versions.

faster-whisper is not in the test venv; its WhisperModel is replaced by a
fake with the same ``transcribe`` shape (segments generator + info), and the
real engine runs in tests/integration/test_overlay_*.py.
"""
from __future__ import annotations

import numpy as np

import asr_engine_cpu
import asr_settings
from fakes import FakeWhisper


def engine(text="send the report today", **env):
    eng = asr_engine_cpu.CpuEngine(asr_settings.load({"ASR_ENGINE": "cpu"} | env))
    eng._model = FakeWhisper(text)
    return eng


AUDIO = np.full(16000, 0.1, dtype=np.float32)


def test_transcribe_maps_segments_and_words():
    eng = engine()
    out = eng.transcribe(AUDIO, words=True)
    assert out.text == "send the report today"
    assert [w.text for w in out.words] == ["send", "the", "report", "today"]
    assert eng._model.kwargs["vad_filter"] is True and eng._model.kwargs["word_timestamps"] is True


def test_silence_is_an_empty_transcript():
    assert engine(text="").transcribe(np.zeros(16000, np.float32)).text == ""


def test_the_production_engine_has_no_bench_behaviour():
    """Faults and the hazard emulation live in the bench's engine, not here."""
    eng = engine(ASR_CUDA_GRAPHS="on")
    assert not any(hasattr(eng, name) for name in ("graph_hazard", "bench_faults"))
    assert "cuda_graph_hazard" not in eng.describe()


def test_describe_reports_versions(monkeypatch):
    import asr_versions

    monkeypatch.setattr(asr_versions, "installed", {"faster-whisper": "1.2.1", "cuda-python": "12.9.0"}.get)
    assert engine().describe() == {"faster_whisper": "1.2.1", "ctranslate2": None, "cuda_bindings": None,
                                   "cuda_python": "12.9.0"}
