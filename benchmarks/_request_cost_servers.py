"""The two servers benchmarks/overlay_request_cost.py measures, one per process.

``overlay``: the real overlay app (main.create_app) with a null engine that
answers at once, so what a request costs is the overlay's own handling.
``floor``: a bare FastAPI endpoint that reads the multipart upload and answers
a fixed JSON, plus ``/raw`` that reads the body without parsing it. Both are
served by uvicorn on loopback with the settings of the overlay's main().

    python benchmarks/_request_cost_servers.py overlay|floor PORT
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "files" / "parakeet_patches"))

import numpy as np  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

import asr_settings  # noqa: E402
from asr_audio import RATE  # noqa: E402
from asr_types import Diarization, Segment, Transcript, Turn, Word  # noqa: E402

# Words of the real speech fixtures, cycled to any length; speech runs at
# about 3.2 words per second in them, Parakeet's 80 ms frames set the grid.
WORDS = re.findall(r"\S+", " ".join((REPO / "files" / "audio" / f"{n}.txt").read_text()
                                    for n in ("single_speaker", "two_speakers")))
WORDS_PER_S = 3.2
FRAME = 0.08
# The floor's fixed answer: the size of a short json transcript.
FIXED = {"text": " ".join(WORDS[:32])}


def null_transcript(duration: float) -> Transcript:
    """A transcript of realistic length: words spread over the audio, one
    segment per sentence (as Parakeet's segment timestamps give)."""
    count = max(1, round(duration * WORDS_PER_S))
    step = duration / count
    words = []
    for i in range(count):
        start = round(i * step / FRAME) * FRAME
        words.append(Word(WORDS[i % len(WORDS)], start, min(duration, start + max(FRAME, step * 0.8))))
    segments, current = [], []
    for word in words:
        current.append(word)
        if word.text[-1] in ".?!" or word is words[-1]:
            segments.append(Segment(current[0].start, current[-1].end, " ".join(w.text for w in current)))
            current = []
    return Transcript(" ".join(w.text for w in words), segments, words)


def null_turns(duration: float) -> Diarization:
    """Two speakers taking turns of about 4 s, a third once: a few turns, as
    Sortformer reports for a conversation."""
    turns, start, speaker = [], 0.0, 0
    while start < duration:
        end = min(duration, start + 4.0)
        turns.append(Turn(2 if len(turns) == 3 else speaker, start + 0.1, end))
        start, speaker = end, 1 - speaker
    return Diarization(turns)


class NullEngine:
    """Answers at once: the transcript is made once per audio length."""

    name = "null"
    bench_faults = False

    def __init__(self) -> None:
        self._transcripts: dict[int, Transcript] = {}

    def load(self) -> None:
        return None

    def describe(self) -> dict:
        return {"null_engine": True}

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        # Parakeet gives word timestamps whether asked or not, so does this.
        if len(samples) not in self._transcripts:
            self._transcripts[len(samples)] = null_transcript(len(samples) / RATE)
        return self._transcripts[len(samples)]

    def diarize(self, samples: np.ndarray) -> Diarization:
        return null_turns(len(samples) / RATE)

    @staticmethod
    def is_fatal(_exc: BaseException) -> bool:
        return False


def floor_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health/ready")
    def ready():
        return {"ready": True}

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request):
        form = await request.form()
        await form["file"].read()
        return JSONResponse(FIXED)

    @app.post("/raw")
    async def raw(request: Request):
        await request.body()
        return JSONResponse(FIXED)

    return app


def overlay_app(port: int) -> FastAPI:
    import main

    main._configure_logging()               # the request log line is part of the cost
    settings = asr_settings.Settings(host="127.0.0.1", port=port)
    return main.create_app(settings, engine=NullEngine())


def serve(kind: str, port: int) -> None:
    app = overlay_app(port) if kind == "overlay" else floor_app()
    # The overlay's main() serves with exactly these settings.
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="info")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("overlay", "floor"):
        sys.exit("usage: _request_cost_servers.py overlay|floor PORT")
    serve(sys.argv[1], int(sys.argv[2]))
