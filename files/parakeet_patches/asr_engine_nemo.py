"""The ``nemo`` engine (production, default in the NGC image).

Parakeet TDT through NeMo's ASR model API and Sortformer through its
diarization model API. CUDA-graph decoding is set explicitly from
ASR_CUDA_GRAPHS (default off) whatever is installed. NeMo's greedy TDT
decoder (``greedy_batch``) defaults ``use_cuda_graph_decoder`` to on: with
cuda-python / cuda-bindings importable it takes the full conditional-node
graph path, which on GB10 crashes real decodes with "CUDA error: an illegal
memory access was encountered"; without them it falls back to a partial-graph
mode (``no_while_loops``) that still captures CUDA graphs. Only the flag,
set to false, keeps graphs off in both cases: the path that served
production without a failure.

NeMo calls used (read from nemo_toolkit 3.0.0 and 2.5.3, both tested in tests/nemo):
* ``ASRModel.from_pretrained(model_name=..., map_location=...)`` or
  ``ASRModel.restore_from(restore_path=..., map_location=...)`` for a .nemo file;
* ``model.cfg.decoding`` + ``omegaconf.open_dict`` + ``model.change_decoding_strategy(cfg)``
  (rnnt_bpe_models.py), which merges the config, rebuilds ``model.decoding`` and writes the merged
  config back into ``model.cfg.decoding``; ``greedy.use_cuda_graph_decoder`` becomes
  ``allow_cuda_graphs`` of the label-looping decoding computer
  (``model.decoding.decoding.decoding_computer``); ``model.disable_cuda_graphs()`` (asr_model.py);
* ``model.transcribe(audio=[np.ndarray], batch_size=1, timestamps=True, verbose=False)`` -> list of
  Hypothesis with ``.text`` and ``.timestamp['word'|'segment']`` lists of dicts carrying ``start``
  and ``end`` seconds (timestamp_utils.process_timestamp_outputs); it rebuilds the decoder from
  ``model.cfg.decoding`` when ``compute_timestamps`` changes, so the flag must live there;
* ``SortformerEncLabelModel.diarize(audio=[wav path], batch_size=1, num_workers=0, verbose=False)``
  -> one list per file of ``"<start> <end> speaker_<k>"`` strings
  (speaker_utils.generate_diarization_output_lines); 2.x takes file paths only.
"""
from __future__ import annotations

import copy
import os
import tempfile

import numpy as np

import asr_versions
from asr_audio import RATE, to_wav_bytes
from asr_settings import Settings
from asr_types import Diarization, Segment, Transcript, Word
from diarizer import parse_sortformer


# NeMo 3.0 (and 2.7, read from its source) pads array inputs shorter than 1 s to 1 s, centred
# (TranscriptionTensorDataset, pad_direction "both"), so every time in a
# sub-second clip would be shifted by half the padding; 2.5.x pads nothing.
# Padding the clip at its END to 1 s ourselves makes NeMo pad nothing on any
# line: frame 0 is the client's first sample, no time needs a shift, and a
# word in the padding is clipped to the audio's end like any other
# (main._decode_job). Exact on every line, unlike guessing NeMo's offset.
MIN_SAMPLES = RATE


def pad_to_min(samples: np.ndarray) -> np.ndarray:
    if len(samples) >= MIN_SAMPLES:
        return samples
    return np.pad(samples, (0, MIN_SAMPLES - len(samples)))


def _restore(cls, source: str, device):
    """A .nemo file (or any existing path) is restored; anything else is a pretrained name."""
    if source.endswith(".nemo") or os.path.exists(source):
        return cls.restore_from(restore_path=source, map_location=device)
    return cls.from_pretrained(model_name=source, map_location=device)


class NemoEngine:
    name = "nemo"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._asr = None
        self._diar = None
        self.cuda_graphs = settings.cuda_graphs

    def load(self) -> None:
        import torch
        from nemo.collections.asr.models import ASRModel, SortformerEncLabelModel

        device = torch.device(self.settings.device if torch.cuda.is_available() else "cpu")
        self._asr = _restore(ASRModel, self.settings.nemo_asr_model, device)
        self._asr.eval()
        self._set_cuda_graphs(self.settings.cuda_graphs)
        self._diar = _restore(SortformerEncLabelModel, self.settings.nemo_diar_model, device)
        self._diar.eval()

    def _set_cuda_graphs(self, enabled: bool) -> None:
        from omegaconf import open_dict

        cfg = copy.deepcopy(self._asr.cfg.decoding)
        with open_dict(cfg):
            cfg.greedy.use_cuda_graph_decoder = enabled
        self._asr.change_decoding_strategy(cfg)
        if not enabled and hasattr(self._asr, "disable_cuda_graphs"):
            self._asr.disable_cuda_graphs()    # belt and braces: the decoder may have captured graphs already
        self.cuda_graphs = enabled

    def decoder_cuda_graphs(self) -> str | None:
        """CUDA-graph mode of the decoder NeMo actually uses: "off", the mode
        it would capture with (e.g. "no_while_loops", "full_graph"), or None
        when there is no label-looping decoder to ask (not loaded, other strategy)."""
        computer = getattr(getattr(getattr(self._asr, "decoding", None), "decoding", None), "decoding_computer", None)
        if computer is None:
            return None
        mode = getattr(computer, "cuda_graphs_mode", None)
        if not getattr(computer, "allow_cuda_graphs", False) or mode is None:
            return "off"
        return str(getattr(mode, "value", mode))

    def describe(self) -> dict:
        """What serves: the packages that decide the decode path, and the live decoder's graph mode."""
        return {**asr_versions.of("nemo_toolkit", "torch", "cuda-bindings", "cuda-python"),
                "decoder_cuda_graphs": self.decoder_cuda_graphs()}

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        out = self._asr.transcribe(audio=[pad_to_min(samples)], batch_size=1, timestamps=True, verbose=False)
        if isinstance(out, tuple):               # older NeMo: (best hypotheses, all hypotheses)
            out = out[0]
        hyp = out[0]
        if isinstance(hyp, str):                 # models without hypotheses: text only
            return Transcript(text=hyp.strip(), segments=[Segment(0.0, len(samples) / RATE, hyp.strip())]
                              if hyp.strip() else [])
        text = (hyp.text or "").strip()
        stamps = getattr(hyp, "timestamp", None) or {}
        word_list = [Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in stamps.get("word", [])]
        segments = [Segment(float(s["start"]), float(s["end"]), str(s["segment"])) for s in stamps.get("segment", [])]
        if text and not segments:
            segments = [Segment(0.0, len(samples) / RATE, text)]
        return Transcript(text=text, segments=segments, words=word_list)

    def diarize(self, samples: np.ndarray) -> Diarization:
        with tempfile.NamedTemporaryFile(suffix=".wav", prefix="diar-") as wav:
            wav.write(to_wav_bytes(samples))
            wav.flush()
            result = self._diar.diarize(audio=[wav.name], batch_size=1, num_workers=0, verbose=False)
        if isinstance(result, tuple):            # include_tensor_outputs=True: (lines, tensors)
            result = result[0]
        return Diarization(turns=parse_sortformer(result[0] if result else []))

    @staticmethod
    def is_fatal(exc: BaseException) -> bool:
        # After an illegal memory access the CUDA context is unusable until a restart.
        return "CUDA error" in str(exc)
