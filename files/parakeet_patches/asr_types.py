"""Plain data passed between the engines, the diarizer and the formatters."""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_SPEAKERS = 4            # Sortformer diar_sortformer_4spk-v1 has four output channels


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    speaker: str | None = None
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    text: str
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    language: str = "en"


@dataclass(frozen=True)
class Turn:
    speaker: int
    start: float
    end: float


@dataclass
class Diarization:
    turns: list[Turn]
    # True when the diarizer had more voices than labels, or used all of them
    # (Sortformer cannot see past its four channels): extra voices may share a label.
    limit_reached: bool = False
