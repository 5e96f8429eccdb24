"""The nemo engine against fakes of the NeMo calls it makes (fast, no NeMo).

The real library is tested in tests/nemo (tiny models, NeMo 3.0 and 2.5, its
own venv); these fakes agree with what that shows. They reproduce the names,
arguments and return shapes of nemo_toolkit 3.0.0 / 2.5.3:
* ASRModel.from_pretrained(model_name, map_location) / restore_from(restore_path, map_location):
  nemo/core/classes/modelPT.py, common.py;
* EncDecRNNTBPEModel.change_decoding_strategy(decoding_cfg, verbose=True), which writes the
  merged config back into model.cfg.decoding, and the greedy.use_cuda_graph_decoder key read by
  RNNTDecoding for greedy_batch TDT: nemo/collections/asr/models/rnnt_bpe_models.py,
  parts/submodules/rnnt_decoding.py; transcribe(timestamps=True) rebuilds the decoder from
  model.cfg.decoding when compute_timestamps is not yet on (rnnt_models.py);
  ASRModel.disable_cuda_graphs(): nemo/collections/asr/models/asr_model.py;
* EncDecRNNTModel.transcribe(audio, batch_size=4, ..., verbose=True, timestamps=None) returning
  a list of Hypothesis whose .timestamp holds 'word' / 'segment' / 'char' lists of dicts with
  start_offset, end_offset and (after process_timestamp_outputs) start / end in seconds:
  parts/utils/timestamp_utils.py, parts/utils/rnnt_utils.py;
* SpkDiarizationMixin.diarize(audio, batch_size=1, num_workers=1, verbose=False, ...) taking
  file paths and returning one list per file of "start end speaker_k" strings:
  parts/mixins/diarization.py, parts/utils/speaker_utils.generate_diarization_output_lines.
"""
from __future__ import annotations

import contextlib
import copy
import sys
import types
from dataclasses import dataclass, field

import numpy as np
import pytest
import soundfile as sf

import asr_engine_nemo
import asr_settings


class Cfg(dict):
    """Attribute access like omegaconf.DictConfig; 'struct' refuses new keys unless opened."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        object.__setattr__(self, "struct", True)

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        if key not in self and self.struct:
            raise AttributeError(f"Key '{key}' is not in struct")
        self[key] = value


@contextlib.contextmanager
def open_dict(cfg):
    nodes = [cfg] + [v for v in cfg.values() if isinstance(v, Cfg)]
    for n in nodes:
        object.__setattr__(n, "struct", False)
    try:
        yield cfg
    finally:
        for n in nodes:
            object.__setattr__(n, "struct", True)


@dataclass
class Hypothesis:       # nemo.collections.asr.parts.utils.rnnt_utils.Hypothesis (fields used here)
    score: float
    y_sequence: list
    text: str = ""
    timestamp: dict = field(default_factory=dict)


def _stamp(kind, text, start, end):
    # frames of 80 ms (10 ms window stride x 8 subsampling), as process_timestamp_outputs computes
    return {kind: text, "start_offset": int(start / 0.08), "end_offset": int(end / 0.08), "start": start, "end": end}


class FakeASRModel:
    loaded: list = []

    def __init__(self):
        self.cfg = Cfg(decoding=Cfg(strategy="greedy_batch", greedy=Cfg(max_symbols=10)))
        self.decoding_cfgs, self.transcribe_calls, self.disabled, self.evaluated = [], [], 0, False
        self.reply = None

    @classmethod
    def from_pretrained(cls, model_name, map_location=None):
        cls.loaded.append(("from_pretrained", model_name, str(map_location)))
        return cls()

    @classmethod
    def restore_from(cls, restore_path, map_location=None):
        cls.loaded.append(("restore_from", restore_path, str(map_location)))
        return cls()

    def eval(self):
        self.evaluated = True
        return self

    def change_decoding_strategy(self, decoding_cfg, verbose=True):
        self.decoding_cfgs.append(decoding_cfg)
        self.cfg.decoding = copy.deepcopy(decoding_cfg)     # NeMo keeps the merged config as its own

    def disable_cuda_graphs(self):
        self.disabled += 1
        return True

    def transcribe(self, audio, batch_size=4, return_hypotheses=False, num_workers=0, verbose=True,
                   timestamps=None, **kw):
        self.transcribe_calls.append({"audio": audio, "batch_size": batch_size, "timestamps": timestamps,
                                      "verbose": verbose})
        if timestamps and self.cfg.decoding.get("compute_timestamps") is not True:
            with open_dict(self.cfg.decoding):
                self.cfg.decoding.compute_timestamps = True
            self.change_decoding_strategy(self.cfg.decoding, verbose=False)
        if self.reply is not None:
            return self.reply
        hyp = Hypothesis(score=-1.0, y_sequence=[5, 6, 7], text="Send the report.")
        if timestamps:
            hyp.timestamp = {
                "word": [_stamp("word", "Send", 0.16, 0.4), _stamp("word", "the", 0.4, 0.56),
                         _stamp("word", "report.", 0.56, 1.04)],
                "segment": [_stamp("segment", "Send the report.", 0.16, 1.04)],
                "char": [],
            }
        return [hyp]


class FakeSortformer(FakeASRModel):
    def __init__(self):
        super().__init__()
        self.diarize_calls = []
        self.lines = ["0.160 0.560 speaker_0", "0.640 1.040 speaker_1"]

    def diarize(self, audio, batch_size=1, num_workers=1, verbose=False, override_config=None, **kw):
        path = audio[0]
        samples, rate = sf.read(path)             # the file must exist and be real audio at call time
        self.diarize_calls.append({"audio": audio, "batch_size": batch_size, "num_workers": num_workers,
                                   "rate": rate, "frames": len(samples)})
        return [list(self.lines)]


@pytest.fixture
def nemo(monkeypatch):
    FakeASRModel.loaded = []
    models = types.ModuleType("nemo.collections.asr.models")
    models.ASRModel, models.SortformerEncLabelModel = FakeASRModel, FakeSortformer
    torch = types.ModuleType("torch")
    torch.cuda = types.SimpleNamespace(is_available=lambda: True)
    torch.device = lambda name: f"device({name})"
    omegaconf = types.ModuleType("omegaconf")
    omegaconf.open_dict = open_dict
    for name in ("nemo", "nemo.collections", "nemo.collections.asr"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "nemo.collections.asr.models", models)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "omegaconf", omegaconf)
    return models


def loaded_engine(**env):
    eng = asr_engine_nemo.NemoEngine(asr_settings.load(env))
    eng.load()
    return eng


def test_models_come_from_the_settings(nemo):
    eng = loaded_engine()
    assert FakeASRModel.loaded == [("from_pretrained", "nvidia/parakeet-tdt-0.6b-v2", "device(cuda)"),
                                   ("from_pretrained", "nvidia/diar_sortformer_4spk-v1", "device(cuda)")]
    assert eng._asr.evaluated and eng._diar.evaluated


def test_nemo_files_are_restored(nemo, tmp_path):
    local = tmp_path / "parakeet.nemo"
    local.write_bytes(b"x")
    loaded_engine(ASR_NEMO_MODEL=str(local), DIAR_NEMO_MODEL="/models/diar.nemo")
    assert FakeASRModel.loaded[0] == ("restore_from", str(local), "device(cuda)")
    assert FakeASRModel.loaded[1][:2] == ("restore_from", "/models/diar.nemo")


def test_cuda_graph_decoding_is_switched_off_explicitly(nemo):
    eng = loaded_engine()
    (cfg,) = eng._asr.decoding_cfgs
    assert cfg.greedy.use_cuda_graph_decoder is False
    assert cfg.strategy == "greedy_batch" and cfg.greedy.max_symbols == 10
    assert eng._asr.cfg.decoding.greedy.use_cuda_graph_decoder is False      # written back, as NeMo does
    assert eng._asr.disabled == 1 and eng.cuda_graphs is False


def test_the_decoder_transcribe_rebuilds_keeps_graphs_off(nemo):
    eng = loaded_engine()
    eng.transcribe(np.full(16000, 0.1, dtype=np.float32), words=True)
    _unused, rebuilt = eng._asr.decoding_cfgs
    assert rebuilt.compute_timestamps is True and rebuilt.greedy.use_cuda_graph_decoder is False


def test_cuda_graphs_on_is_passed_through(nemo):
    eng = loaded_engine(ASR_CUDA_GRAPHS="on")
    assert eng._asr.decoding_cfgs[0].greedy.use_cuda_graph_decoder is True
    assert eng._asr.disabled == 0


def test_transcribe_call_and_hypothesis_mapping(nemo):
    eng = loaded_engine()
    audio = np.full(16000, 0.1, dtype=np.float32)
    out = eng.transcribe(audio, words=True)
    (call,) = eng._asr.transcribe_calls
    assert call["audio"][0] is audio and len(call["audio"]) == 1
    assert (call["batch_size"], call["timestamps"], call["verbose"]) == (1, True, False)
    assert out.text == "Send the report."
    words = [(w.text, w.start, w.end) for w in out.words]
    assert words == [("Send", 0.16, 0.4), ("the", 0.4, 0.56), ("report.", 0.56, 1.04)]
    assert [(s.start, s.end, s.text) for s in out.segments] == [(0.16, 1.04, "Send the report.")]


def test_sub_second_audio_is_padded_at_its_end(nemo):
    """NeMo 3 would centre a clip under 1 s in 1 s of zeros and shift every time:
    padded at the end here, NeMo pads nothing and frame 0 is the clip's first sample."""
    eng = loaded_engine()
    audio = np.linspace(-0.5, 0.5, 9600, dtype=np.float32)
    eng.transcribe(audio, words=True)
    sent = eng._asr.transcribe_calls[0]["audio"][0]
    assert len(sent) == 16000 and sent.dtype == np.float32
    assert np.array_equal(sent[:9600], audio) and not sent[9600:].any()


def test_describe_reports_versions_and_the_live_decoder(nemo, monkeypatch):
    import asr_versions

    monkeypatch.setattr(asr_versions, "installed", {"nemo_toolkit": "3.0.0", "cuda-bindings": "13.5.0"}.get)
    eng = loaded_engine()
    assert eng.describe() == {"nemo_toolkit": "3.0.0", "torch": None, "cuda_bindings": "13.5.0",
                              "cuda_python": None, "decoder_cuda_graphs": None}     # the fake has no decoder
    computer = types.SimpleNamespace(allow_cuda_graphs=True, cuda_graphs_mode=types.SimpleNamespace(value="no_while_loops"))
    eng._asr.decoding = types.SimpleNamespace(decoding=types.SimpleNamespace(decoding_computer=computer))
    assert eng.decoder_cuda_graphs() == "no_while_loops"
    computer.allow_cuda_graphs, computer.cuda_graphs_mode = False, None
    assert eng.decoder_cuda_graphs() == "off"


def test_transcribe_handles_older_return_shapes(nemo):
    eng = loaded_engine()
    audio = np.zeros(8000, np.float32)
    eng._asr.reply = (["plain text"], [["plain text"]])          # NeMo 1.x: (best, all), strings
    out = eng.transcribe(audio)
    assert out.text == "plain text" and out.segments[0].end == 0.5
    eng._asr.reply = [Hypothesis(score=0.0, y_sequence=[], text="")]   # silence: no tokens
    assert eng.transcribe(audio).text == "" and eng.transcribe(audio).segments == []


def test_diarize_writes_a_16k_wav_and_parses_sortformer_lines(nemo):
    eng = loaded_engine()
    audio = np.full(24000, 0.1, dtype=np.float32)
    diar = eng.diarize(audio)
    (call,) = eng._diar.diarize_calls
    assert call["audio"][0].endswith(".wav") and (call["rate"], call["frames"]) == (16000, 24000)
    assert (call["batch_size"], call["num_workers"]) == (1, 0)
    assert [(t.speaker, t.start, t.end) for t in diar.turns] == [(0, 0.16, 0.56), (1, 0.64, 1.04)]
    import os
    assert not os.path.exists(call["audio"][0])                  # the temp file is cleaned up


def test_cuda_errors_are_fatal():
    assert asr_engine_nemo.NemoEngine.is_fatal(RuntimeError("CUDA error: an illegal memory access was encountered"))
    assert not asr_engine_nemo.NemoEngine.is_fatal(ValueError("bad input"))
