"""The bench's engine for the overlay: its cpu engine plus the bench's faults.

Test infrastructure, installed in the bench image outside /app (on
PYTHONPATH) and chosen with ASR_ENGINE=spark_bench_engine:BenchEngine, the
overlay's plug-in point. On top of the overlay's ``cpu`` engine:

* the fault switches (spark_bench_faults): ``fail_503_until`` refuses each
  decode with the overlay's Busy (503 + Retry-After: 1), ``garble`` turns
  transcripts into wrong words;
* the GB10 CUDA-graph hazard: NeMo turns CUDA-graph decoding on when
  cuda-python is importable and the decoding config allows it, and on GB10
  that crashes every decode that yields tokens. Emulated when the same two
  conditions hold (ASR_CUDA_GRAPHS=on, a module ``cuda`` importable), so the
  collection's tests can show that real speech catches what silence misses.
"""
from __future__ import annotations

import numpy as np

import spark_bench_faults as faults
from asr_engine_cpu import CpuEngine
from asr_settings import Settings
from asr_types import Segment, Transcript, Word
from asr_worker import Busy

ILLEGAL_ACCESS = "CUDA error: an illegal memory access was encountered"


class DecodeCrash(RuntimeError):
    """The decoder died; on a GPU the CUDA context is gone until a restart."""


class BenchEngine(CpuEngine):
    name = "cpu-bench"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.graph_hazard = False

    def load(self) -> None:
        super().load()
        self.graph_hazard = self.settings.cuda_graphs and faults.cuda_importable()

    def describe(self) -> dict:
        return {**super().describe(), "cuda_graph_hazard": self.graph_hazard}

    def transcribe(self, samples: np.ndarray, words: bool = False) -> Transcript:
        switches = faults.read()
        if faults.unavailable(switches):
            raise Busy("bench fault fail_503_until is set", 1)
        out = super().transcribe(samples, words)
        if out.text and self.graph_hazard:
            raise DecodeCrash(f"{ILLEGAL_ACCESS} (CUDA-graph decoding with cuda-python installed; "
                              f"set ASR_CUDA_GRAPHS=off and remove cuda-python)")
        if out.text and switches.get("garble"):
            out = Transcript(faults.garble(out.text),
                             [Segment(s.start, s.end, faults.garble(s.text)) for s in out.segments],
                             [Word(faults.garble(w.text), w.start, w.end) for w in out.words])
        return out
