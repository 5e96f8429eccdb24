"""Stand-ins for the overlay tests: an engine (deterministic, no models) and
faster-whisper's WhisperModel (not in the test venv)."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np

from asr_types import Diarization, Segment, Transcript, Turn, Word


class FakeEngine:
    name = "cpu"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.fail: BaseException | None = None
        self.calls: list[str] = []

    def load(self) -> None:
        self.calls.append("load")

    def describe(self) -> dict:
        return {"fake_engine": "1.0", "cuda_bindings": None}

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        self.calls.append("transcribe")
        self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        if float(np.sqrt(np.mean(samples ** 2))) < 1e-4:      # silence: no tokens
            return Transcript("")
        d = len(samples) / 16000
        return Transcript("hello there general kenobi", [Segment(0, d, "hello there general kenobi")],
                          [Word("hello", 0, d / 4), Word("there", d / 4, d / 2), Word("general", d / 2, 3 * d / 4),
                           Word("kenobi", 3 * d / 4, d)])

    def diarize(self, samples: np.ndarray) -> Diarization:
        self.calls.append("diarize")
        d = len(samples) / 16000
        return Diarization([Turn(7, 0, d / 2), Turn(2, d / 2, d)])

    @staticmethod
    def is_fatal(exc: BaseException) -> bool:
        return "CUDA error" in str(exc)


class FakeWhisper:
    """faster_whisper.WhisperModel.transcribe -> (iterator of Segment, TranscriptionInfo)."""

    def __init__(self, text: str) -> None:
        self.text, self.kwargs = text, None

    def transcribe(self, audio, **kwargs):
        self.kwargs = kwargs
        if not self.text:
            return iter([]), SimpleNamespace(duration=len(audio) / 16000)
        words = [SimpleNamespace(word=" " + w, start=i * 0.5, end=i * 0.5 + 0.4)
                 for i, w in enumerate(self.text.split())]
        seg = SimpleNamespace(start=0.0, end=len(words) * 0.5, text=" " + self.text, words=words)
        return iter([seg]), SimpleNamespace(duration=len(audio) / 16000)
