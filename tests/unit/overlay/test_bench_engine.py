"""The bench's overlay engine (tests/bench/images/parakeet-asr/engine/):
the overlay's cpu engine plus the fault switches and the GB10 hazard emulation,
chosen through ASR_ENGINE=module:Class."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

import asr_settings
import main
import spark_bench_engine
import spark_bench_faults
from asr_worker import Busy
from fakes import FakeWhisper

AUDIO = np.full(16000, 0.1, dtype=np.float32)
PLUGIN = "spark_bench_engine:BenchEngine"


@pytest.fixture
def faults(tmp_path, monkeypatch):
    path = tmp_path / "faults.json"
    monkeypatch.setattr(spark_bench_faults, "PATH", str(path))
    return lambda switches: path.write_text(json.dumps(switches))


def engine(text="send the report today", cuda=False, **env):
    eng = main.make_engine(asr_settings.load({"ASR_ENGINE": PLUGIN} | env))
    eng._model = FakeWhisper(text)
    eng.graph_hazard = eng.settings.cuda_graphs and cuda
    return eng


def test_asr_engine_module_class_loads_the_bench_engine():
    eng = engine()
    assert isinstance(eng, spark_bench_engine.BenchEngine) and eng.name == "cpu-bench"
    assert eng.transcribe(AUDIO).text == "send the report today"


def test_an_engine_that_cannot_be_imported_is_a_setting_error():
    with pytest.raises(asr_settings.SettingsError, match="ASR_ENGINE='no_such_module:Engine'.*PYTHONPATH"):
        main.make_engine(asr_settings.load({"ASR_ENGINE": "no_such_module:Engine"}))


def test_garble_fault_gives_wrong_words(faults):
    faults({"garble": True})
    out = engine().transcribe(AUDIO, words=True)
    assert out.text == "dnes eht troper yadot"
    assert out.words[0].text == "dnes" and out.segments[0].text == "dnes eht troper yadot"


def test_fail_503_until_refuses_with_busy_until_then(faults):
    faults({"fail_503_until": time.time() + 60})
    with pytest.raises(Busy) as info:
        engine().transcribe(AUDIO)
    assert info.value.retry_after == 1
    faults({"fail_503_until": time.time() - 1})
    assert engine().transcribe(AUDIO).text


@pytest.mark.parametrize("switches", [{"fail_503_until": "soon", "garble": False}, [1, 2], "not json"])
def test_malformed_faults_mean_none(faults, switches):
    faults(switches)
    assert engine().transcribe(AUDIO).text == "send the report today"


def test_hazard_needs_both_cuda_python_and_graphs_on(monkeypatch):
    eng = main.make_engine(asr_settings.load({"ASR_ENGINE": PLUGIN, "ASR_CUDA_GRAPHS": "on"}))
    monkeypatch.setattr(spark_bench_engine.CpuEngine, "load", lambda self: None)
    monkeypatch.setattr(spark_bench_faults, "cuda_importable", lambda: True)
    eng.load()
    assert eng.graph_hazard is True
    monkeypatch.setattr(spark_bench_faults, "cuda_importable", lambda: False)
    eng.load()
    assert eng.graph_hazard is False
    off = main.make_engine(asr_settings.load({"ASR_ENGINE": PLUGIN}))
    monkeypatch.setattr(spark_bench_faults, "cuda_importable", lambda: True)
    off.load()
    assert off.graph_hazard is False                                       # graphs off by default


def test_hazard_crashes_speech_but_not_silence():
    eng = engine(cuda=True, ASR_CUDA_GRAPHS="on")
    with pytest.raises(spark_bench_engine.DecodeCrash, match="CUDA error: an illegal memory access") as info:
        eng.transcribe(AUDIO)
    assert eng.is_fatal(info.value)
    assert engine(text="", cuda=True, ASR_CUDA_GRAPHS="on").transcribe(np.zeros(16000, np.float32)).text == ""


def test_cuda_python_probe_looks_for_the_cuda_module(monkeypatch):
    import importlib.util

    seen = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: seen.append(name) or None)
    assert spark_bench_faults.cuda_importable() is False and seen == ["cuda"]


def test_describe_adds_the_hazard(monkeypatch):
    import asr_versions

    monkeypatch.setattr(asr_versions, "installed", {"faster-whisper": "1.2.1"}.get)
    assert engine(cuda=True, ASR_CUDA_GRAPHS="on").describe() == {
        "faster_whisper": "1.2.1", "ctranslate2": None, "cuda_bindings": None, "cuda_python": None,
        "cuda_graph_hazard": True}
