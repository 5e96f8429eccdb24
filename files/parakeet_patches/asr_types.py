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


def _inside(t: float, duration: float) -> float:
    return min(max(float(t), 0.0), duration)


def clip_transcript(transcript: Transcript, duration: float) -> Transcript:
    """Every word and segment time inside [0, duration].

    Engines report frame times (80 ms for Parakeet), so the last word can end
    past the audio's end (7.44 s for a 7.38 s clip); nothing past it exists
    for the client, and srt/vtt would carry it unchanged.
    """
    def word(w: Word) -> Word:
        # Nearly every word is inside already: kept as it is (it is immutable).
        if 0.0 <= w.start <= duration and 0.0 <= w.end <= duration:
            return w
        return Word(w.text, _inside(w.start, duration), _inside(w.end, duration))

    segments = [Segment(_inside(s.start, duration), _inside(s.end, duration), s.text, s.speaker,
                        [word(w) for w in s.words]) for s in transcript.segments]
    return Transcript(transcript.text, segments, [word(w) for w in transcript.words], transcript.language)


def clip_diarization(diar: Diarization, duration: float) -> Diarization:
    """Speaker turns inside [0, duration]; a turn left with no length is dropped."""
    turns = [Turn(t.speaker, _inside(t.start, duration), _inside(t.end, duration)) for t in diar.turns]
    return Diarization([t for t in turns if t.end > t.start], diar.limit_reached)
