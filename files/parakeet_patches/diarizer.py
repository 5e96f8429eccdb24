"""Speaker turns: normalise diarizer output, cap it at four speakers, and
attach the transcript's words to the turns.

Engine-neutral: the nemo engine feeds it Sortformer's lines, the cpu engine
its own turns. Sortformer ``diar_sortformer_4spk-v1`` has four output
channels, so the answer never carries more than MAX_SPEAKERS labels; when a
recording has more voices they are folded into those four and the answer
says ``speaker_limit_reached: true``.
"""
from __future__ import annotations

from asr_types import MAX_SPEAKERS, Diarization, Segment, Turn, Word


class DiarizerOutputError(ValueError):
    """The diarizer returned something that is not a list of speaker segments."""


def parse_sortformer(lines: list[str]) -> list[Turn]:
    """Sortformer's ``"<start> <end> speaker_<k>"`` strings (seconds) as turns."""
    turns = []
    for line in lines:
        parts = str(line).split()
        if len(parts) != 3 or not parts[2].startswith("speaker_"):
            raise DiarizerOutputError(f"unexpected diarizer line {line!r}: want '<start> <end> speaker_<k>'")
        try:
            start, end, speaker = float(parts[0]), float(parts[1]), int(parts[2][len("speaker_"):])
        except ValueError:
            raise DiarizerOutputError(f"unexpected diarizer line {line!r}: want '<start> <end> speaker_<k>'") from None
        if end > start:
            turns.append(Turn(speaker, start, end))
    return sorted(turns, key=lambda t: (t.start, t.end))


def cap_speakers(diar: Diarization, max_speakers: int = MAX_SPEAKERS) -> Diarization:
    """Relabel speakers 0.. in order of first appearance and fold any speaker
    beyond ``max_speakers`` into the one speaking nearest in time."""
    turns = sorted(diar.turns, key=lambda t: (t.start, t.end))
    order: dict[int, int] = {}
    for turn in turns:
        order.setdefault(turn.speaker, len(order))
    over = len(order) > max_speakers
    kept = [Turn(order[t.speaker], t.start, t.end) for t in turns if order[t.speaker] < max_speakers]
    folded = []
    for turn in turns:
        if order[turn.speaker] < max_speakers:
            continue
        nearest = min(kept, key=lambda k: max(k.start - turn.end, turn.start - k.end, 0.0)) if kept else None
        folded.append(Turn(nearest.speaker if nearest else 0, turn.start, turn.end))
    capped = sorted(kept + folded, key=lambda t: (t.start, t.end))
    used = len({t.speaker for t in capped})
    return Diarization(turns=capped, limit_reached=diar.limit_reached or over or used >= max_speakers)


def _speaker_at(turns: list[Turn], start: float, end: float) -> int:
    """The speaker overlapping [start, end] most, else the nearest turn's."""
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker


def label(speaker: int) -> str:
    return f"speaker_{speaker}"


def speaker_segments(words: list[Word], segments: list[Segment], diar: Diarization) -> list[Segment]:
    """One segment per run of words from the same speaker.

    Words (with timestamps) give the finest split; without them whole
    transcript segments are assigned. No turns (silence) -> no segments.
    """
    if not diar.turns:
        return []
    units = [Segment(w.start, w.end, w.text, words=[w]) for w in words] or segments
    out: list[Segment] = []
    for unit in units:
        who = label(_speaker_at(diar.turns, unit.start, unit.end))
        if out and out[-1].speaker == who:
            last = out[-1]
            out[-1] = Segment(last.start, unit.end, f"{last.text} {unit.text.strip()}".strip(), who,
                              last.words + unit.words)
        else:
            out.append(Segment(unit.start, unit.end, unit.text.strip(), who, list(unit.words)))
    return out


def speakers_in(segments: list[Segment]) -> int:
    return len({s.speaker for s in segments if s.speaker})
