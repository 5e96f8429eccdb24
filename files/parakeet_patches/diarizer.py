"""Speaker turns: normalise diarizer output, cap it at four speakers, and
attach the transcript's words to the turns.

Engine-neutral: the nemo engine feeds it Sortformer's lines, the cpu engine
its own turns. Sortformer ``diar_sortformer_4spk-v1`` has four output
channels, so the answer never carries more than MAX_SPEAKERS labels; when a
recording has more voices they are folded into those four and the answer
says ``speaker_limit_reached: true``.
"""
from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

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


class _Speakers:
    """Who speaks at a time: the turn overlapping [start, end] most (the
    earliest listed on a tie), else the nearest turn's speaker.

    Turns are kept sorted by start with the latest end so far beside them,
    so a word looks only at the turns that can overlap it instead of at all
    of them (24 min of audio: 4600 words x 360 turns)."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.order = sorted(range(len(turns)), key=lambda i: turns[i].start)
        self.starts = [turns[i].start for i in self.order]
        self.reach = list(accumulate((turns[i].end for i in self.order), max))

    def at(self, start: float, end: float) -> int:
        turns, order, reach = self.turns, self.order, self.reach
        best, best_overlap, best_index = None, 0.0, len(turns)
        # Only turns that start before ``end`` can overlap; walking back, once
        # no earlier turn ends after ``start`` none of them can.
        for pos in range(bisect_left(self.starts, end) - 1, -1, -1):
            if reach[pos] <= start:
                break
            index = order[pos]
            turn = turns[index]
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > best_overlap or (overlap == best_overlap and best is not None and index < best_index):
                best, best_overlap, best_index = turn.speaker, overlap, index
        if best is not None:
            return best
        middle = (start + end) / 2
        return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker


def label(speaker: int) -> str:
    return f"speaker_{speaker}"


def speaker_segments(words: list[Word], segments: list[Segment], diar: Diarization) -> list[Segment]:
    """One segment per run of words from the same speaker.

    Words (with timestamps) give the finest split; without them whole
    transcript segments are assigned. No turns: the transcript's segments
    without a speaker (silence has none; speech the diarizer found no turn
    in, e.g. short or quiet, keeps its words instead of answering nothing).
    """
    if not diar.turns:
        return [Segment(s.start, s.end, s.text, None, list(s.words)) for s in segments]
    at = _Speakers(diar.turns).at
    # Words themselves (no Segment per word) when there are any, else the segments.
    units: list = words or segments
    runs: list[tuple[int, list]] = []
    current = None
    for unit in units:
        who = at(unit.start, unit.end)
        if who == current:
            runs[-1][1].append(unit)
        else:
            runs.append((who, [unit]))
            current = who
    # Each run joined once (growing it word by word copied it again for every word), labelled once.
    return [Segment(run[0].start, run[-1].end, " ".join(t for t in (u.text.strip() for u in run) if t), label(who),
                    run if words else [w for u in run for w in u.words]) for who, run in runs]


def speakers_in(segments: list[Segment]) -> int:
    return len({s.speaker for s in segments if s.speaker})
