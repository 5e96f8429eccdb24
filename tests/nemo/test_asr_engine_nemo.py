"""The nemo engine on the real NeMo library (tiny random-weight models).

Transcripts are nonsense (random weights): the tests assert structure and
the decoder NeMo really uses, never words.
"""
from __future__ import annotations

from importlib import metadata

import nemo
import numpy as np
import pytest
from nemo.collections.asr.models import EncDecRNNTBPEModel, SortformerEncLabelModel

import api_times
import diarizer
import main
from asr_audio import RATE
from asr_engine_nemo import NemoEngine
from asr_types import MAX_SPEAKERS
from conftest import settings_for

NEMO_MAJOR = int(nemo.__version__.split(".", maxsplit=1)[0])
CLIPS = ("single_speaker", "two_speakers", "short_0.6s", "silence_2s")


class Replay:
    """Hands main._decode_job what the real engine answered, so the answer is
    clipped the way every request's is without decoding the clip twice."""

    def __init__(self, transcript, diarization=None):
        self.transcript, self.diarization = transcript, diarization

    def transcribe(self, _samples, words=False):
        return self.transcript

    def diarize(self, _samples):
        return self.diarization


def computer(model):
    """The label-looping decoding computer NeMo's greedy_batch TDT decoder runs."""
    return model.decoding.decoding.decoding_computer


def graphs_state(model) -> tuple[bool, object]:
    live = computer(model)
    return live.allow_cuda_graphs, live.cuda_graphs_mode


def test_load_restores_both_models_on_the_cpu(engine):
    assert isinstance(engine._asr, EncDecRNNTBPEModel) and isinstance(engine._diar, SortformerEncLabelModel)
    assert not engine._asr.training and not engine._diar.training
    assert engine._asr.cfg.loss.loss_name == "tdt"
    assert type(engine._asr.decoding.decoding).__name__ == "GreedyBatchedTDTInfer"
    # ASR_DEVICE defaults to cuda; without CUDA the engine maps the models to the CPU.
    assert {p.device.type for p in engine._asr.parameters()} == {"cpu"}
    assert {p.device.type for p in engine._diar.parameters()} == {"cpu"}


def test_cuda_graphs_are_off_on_the_live_decoder_after_load(engine):
    assert graphs_state(engine._asr) == (False, None)
    # NeMo writes the merged config back into model.cfg.decoding: every later rebuild keeps graphs off.
    assert engine._asr.cfg.decoding.greedy.use_cuda_graph_decoder is False
    assert engine.decoder_cuda_graphs() == "off"


def test_cuda_graphs_stay_off_when_a_transcription_rebuilds_the_decoder(settings, clips):
    eng = NemoEngine(settings)
    eng.load()
    before = eng._asr.decoding
    eng.transcribe(clips["short_0.6s"], words=True)
    # transcribe(timestamps=True) turned compute_timestamps on and rebuilt the decoder from model.cfg.decoding.
    assert eng._asr.decoding is not before and eng._asr.cfg.decoding.compute_timestamps is True
    assert graphs_state(eng._asr) == (False, None)
    eng.transcribe(clips["short_0.6s"], words=True)
    assert graphs_state(eng._asr) == (False, None)


def test_cuda_graphs_on_reaches_the_live_decoder(models, clips):
    eng = NemoEngine(settings_for(models, ASR_CUDA_GRAPHS="on"))
    eng.load()
    allowed, mode = graphs_state(eng._asr)
    assert allowed is True and mode is not None       # no_while_loops here (no CUDA), full_graph with cuda-python on a GPU
    eng.transcribe(clips["short_0.6s"], words=True)
    assert graphs_state(eng._asr)[0] is True
    assert eng.describe()["decoder_cuda_graphs"] not in ("off", None)


def test_describe_names_nemo_and_cuda_bindings(engine):
    info = engine.describe()
    assert info["nemo_toolkit"] == nemo.__version__
    for dist in ("cuda-bindings", "cuda-python", "torch"):
        try:
            want = metadata.version(dist)
        except metadata.PackageNotFoundError:
            want = None
        assert info[dist.replace("-", "_")] == want
    if NEMO_MAJOR >= 3:                 # nemo_toolkit 3 requires cuda-bindings: an NGC image with it has them
        assert info["cuda_bindings"] is not None
    assert info["decoder_cuda_graphs"] == "off"


@pytest.mark.parametrize("name", CLIPS)
def test_transcribe_gives_seconds_inside_the_audio(engine, clips, name):
    samples = clips[name]
    duration = len(samples) / RATE
    raw = engine.transcribe(samples, words=True)
    assert isinstance(raw.text, str) and raw.text == raw.text.strip()
    # Random weights still emit tokens, so there is structure to check (and silence is not special here).
    assert raw.words and raw.segments
    # Seconds, not frames: at most one frame past the (1 s minimum) input NeMo decoded.
    assert max(w.end for w in raw.words) <= max(duration, 1.0) + api_times.FRAME
    api_times.check_spans(raw.words, max(duration, 1.0) + api_times.FRAME, "raw words")
    transcript, _unused = main._decode_job(Replay(raw), samples, diarize=False, words=True)
    assert transcript.text == raw.text
    api_times.check_spans(transcript.words, duration, "words")
    api_times.check_spans(transcript.segments, duration, "segments")
    assert transcript.words[-1].end <= duration


def test_sub_second_clip_is_decoded_from_its_first_sample(engine, clips):
    """Times are relative to the audio the client sent: what NeMo's model sees
    starts with the clip's first sample (NeMo 3 alone would centre it in 1 s)."""
    short = clips["short_0.6s"]
    seen = []

    def spy(_module, args, kwargs):
        signal = kwargs["input_signal"] if "input_signal" in kwargs else args[0]
        seen.append(signal.detach().cpu().numpy().copy())

    handle = engine._asr.preprocessor.register_forward_pre_hook(spy, with_kwargs=True)
    try:
        engine.transcribe(short, words=True)
    finally:
        handle.remove()
    (signal,) = seen
    assert signal.shape[0] == 1 and signal.shape[1] >= len(short)
    assert np.array_equal(signal[0, :len(short)], short)
    assert not signal[0, len(short):].any()          # anything after it is padding at the end


@pytest.mark.parametrize("name", CLIPS)
def test_diarize_gives_at_most_four_speakers_inside_the_audio(engine, clips, name):
    samples = clips[name]
    duration = len(samples) / RATE
    raw = engine.diarize(samples)
    assert all(0 <= t.speaker < MAX_SPEAKERS and t.start < t.end for t in raw.turns)
    heard = engine.transcribe(samples, words=True)
    transcript, diar = main._decode_job(Replay(heard, raw), samples, diarize=True, words=True)
    assert diar.turns, "random weights still mark speech somewhere"
    api_times.check_turns(diar.turns, duration)
    capped = diarizer.cap_speakers(diar)
    segments = diarizer.speaker_segments(transcript.words, transcript.segments, capped)
    assert 1 <= diarizer.speakers_in(segments) <= MAX_SPEAKERS
    api_times.check_spans(segments, duration, "speaker segments")
