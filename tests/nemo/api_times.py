"""What the API promises about times, checked on whatever carries them.

Word and segment times are seconds of the audio the client sent: each span
starts no later than it ends, starts and ends never go backwards, and
nothing lies outside [0, duration].
"""
from __future__ import annotations

import re

FRAME = 0.08        # 10 ms window stride x subsampling 8: the tiny models' frame, like Parakeet's
_CUE = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> (\d\d):(\d\d):(\d\d)[,.](\d{3})")


def _span(item) -> tuple[float, float]:
    if isinstance(item, dict):
        return item["start"], item["end"]
    return item.start, item.end


def check_spans(items, duration: float, what: str) -> None:
    last_start = last_end = 0.0
    for i, item in enumerate(items):
        start, end = _span(item)
        assert isinstance(start, float) and isinstance(end, float), f"{what}[{i}]: {start!r}, {end!r}"
        assert 0.0 <= start <= end <= duration, f"{what}[{i}] {start}-{end} outside 0-{duration} s"
        assert start >= last_start and end >= last_end, f"{what}[{i}] {start}-{end} goes backwards"
        last_start, last_end = start, end


def check_turns(turns, duration: float) -> None:
    """Speaker turns may overlap (two voices at once), so only bounds and order of starts."""
    last_start = 0.0
    for turn in turns:
        assert 0.0 <= turn.start < turn.end <= duration, f"turn {turn} outside 0-{duration} s"
        assert turn.start >= last_start, f"turn {turn} starts before the one before it"
        last_start = turn.start


def cue_times(body: str) -> list[tuple[float, float]]:
    """(start, end) seconds of every srt/vtt cue."""
    out = []
    for match in _CUE.finditer(body):
        g = [int(x) for x in match.groups()]
        out.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000))
    return out
