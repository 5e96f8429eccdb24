"""The cpu engine's bench-only behaviour: faults and the GB10 hazard emulation.

faster-whisper is not in the test venv; its WhisperModel is replaced by a
fake with the same ``transcribe`` shape (segments generator + info), and the
real engine runs in tests/integration/test_overlay_*.py.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

import asr_engine_cpu
import asr_settings


class FakeWhisper:
    """faster_whisper.WhisperModel.transcribe -> (iterator of Segment, TranscriptionInfo)."""

    def __init__(self, text: str) -> None:
        self.text, self.kwargs = text, None

    def transcribe(self, audio, **kwargs):
        self.kwargs = kwargs
        if not self.text:
            return iter([]), SimpleNamespace(duration=len(audio) / 16000)
        words = [SimpleNamespace(word=" " + w, start=i * 0.5, end=i * 0.5 + 0.4) for i, w in enumerate(self.text.split())]
        seg = SimpleNamespace(start=0.0, end=len(words) * 0.5, text=" " + self.text, words=words)
        return iter([seg]), SimpleNamespace(duration=len(audio) / 16000)


def engine(tmp_path, text="send the report today", **env):
    settings = asr_settings.load({"ASR_ENGINE": "cpu", "SPARK_BENCH_FAULTS": str(tmp_path / "f.json")} | env)
    eng = asr_engine_cpu.CpuEngine(settings)
    eng._model = FakeWhisper(text)
    eng.graph_hazard = settings.cuda_graphs and asr_engine_cpu.cuda_python_installed()
    return eng


AUDIO = np.full(16000, 0.1, dtype=np.float32)


def test_transcribe_maps_segments_and_words(tmp_path):
    eng = engine(tmp_path)
    out = eng.transcribe(AUDIO, words=True)
    assert out.text == "send the report today"
    assert [w.text for w in out.words] == ["send", "the", "report", "today"]
    assert eng._model.kwargs["vad_filter"] is True and eng._model.kwargs["word_timestamps"] is True


def test_garble_fault_gives_wrong_words(tmp_path):
    eng = engine(tmp_path)
    (tmp_path / "f.json").write_text(json.dumps({"garble": True}))
    out = eng.transcribe(AUDIO, words=True)
    assert out.text == "dnes eht troper yadot"
    assert out.words[0].text == "dnes"


def test_hazard_needs_both_cuda_python_and_graphs_on(tmp_path, monkeypatch):
    monkeypatch.setattr(asr_engine_cpu, "cuda_python_installed", lambda: True)
    assert engine(tmp_path).graph_hazard is False                       # graphs off by default
    assert engine(tmp_path, ASR_CUDA_GRAPHS="on").graph_hazard is True
    monkeypatch.setattr(asr_engine_cpu, "cuda_python_installed", lambda: False)
    assert engine(tmp_path, ASR_CUDA_GRAPHS="on").graph_hazard is False


def test_hazard_crashes_speech_but_not_silence(tmp_path, monkeypatch):
    monkeypatch.setattr(asr_engine_cpu, "cuda_python_installed", lambda: True)
    eng = engine(tmp_path, ASR_CUDA_GRAPHS="on")
    with pytest.raises(asr_engine_cpu.DecodeCrash, match="CUDA error: an illegal memory access was encountered") as info:
        eng.transcribe(AUDIO)
    assert eng.is_fatal(info.value)
    quiet = engine(tmp_path, text="", ASR_CUDA_GRAPHS="on")
    assert quiet.transcribe(np.zeros(16000, np.float32)).text == ""


def test_cuda_python_probe_looks_for_the_cuda_module(monkeypatch):
    import importlib.util

    seen = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: seen.append(name) or None)
    assert asr_engine_cpu.cuda_python_installed() is False and seen == ["cuda"]


def test_describe_reports_versions_and_the_hazard(tmp_path, monkeypatch):
    import asr_versions

    monkeypatch.setattr(asr_versions, "installed", {"faster-whisper": "1.2.1", "cuda-python": "12.9.0"}.get)
    monkeypatch.setattr(asr_engine_cpu, "cuda_python_installed", lambda: True)
    assert engine(tmp_path, ASR_CUDA_GRAPHS="on").describe() == {
        "faster_whisper": "1.2.1", "ctranslate2": None, "cuda_bindings": None, "cuda_python": "12.9.0",
        "cuda_graph_hazard": True}
