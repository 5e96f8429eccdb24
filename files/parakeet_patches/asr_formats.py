"""OpenAI-style response bodies: json, text, verbose_json, srt, vtt."""
from __future__ import annotations

from dataclasses import dataclass

from asr_types import Segment, Transcript

FORMATS = ("json", "text", "verbose_json", "srt", "vtt")
GRANULARITIES = ("word", "segment")


@dataclass
class Rendered:
    body: object            # dict for JSON answers, str for the others
    media_type: str


def _t(seconds: float) -> float:
    return round(float(seconds), 3)


def _segment(i: int, seg: Segment) -> dict:
    out = {"id": i, "start": _t(seg.start), "end": _t(seg.end), "text": seg.text.strip()}
    if seg.speaker is not None:
        out["speaker"] = seg.speaker
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(segments: list[Segment], vtt: bool) -> str:
    lines = ["WEBVTT", ""] if vtt else []
    for i, seg in enumerate(s for s in segments if s.text.strip()):
        text = seg.text.strip()
        if seg.speaker:
            text = f"<v {seg.speaker}>{text}" if vtt else f"[{seg.speaker}] {text}"
        if not vtt:
            lines.append(str(i + 1))
        sep = "." if vtt else ","
        lines += [f"{_clock(seg.start, sep)} --> {_clock(seg.end, sep)}", text, ""]
    return "\n".join(lines)


def render(fmt: str, transcript: Transcript, duration: float, granularities: tuple[str, ...] = ("segment",),
           speakers: dict | None = None) -> Rendered:
    """``speakers`` (diarized answers) holds ``segments`` (speaker-labelled),
    ``speakers`` (count) and ``speaker_limit_reached``."""
    segments = speakers["segments"] if speakers else transcript.segments
    if fmt == "text":
        return Rendered(transcript.text, "text/plain; charset=utf-8")
    if fmt in ("srt", "vtt"):
        return Rendered(_cues(segments, fmt == "vtt"), "text/vtt; charset=utf-8" if fmt == "vtt"
                        else "application/x-subrip; charset=utf-8")
    body: dict = {"text": transcript.text}
    if fmt == "verbose_json":
        body = {"task": "transcribe", "language": transcript.language, "duration": _t(duration),
                "text": transcript.text}
    # Built once: diarized answers carry the speaker-labelled segments in either format.
    if speakers or (fmt == "verbose_json" and "segment" in granularities):
        body["segments"] = [_segment(i, s) for i, s in enumerate(segments)]
    if fmt == "verbose_json" and "word" in granularities:
        body["words"] = [{"word": w.text.strip(), "start": _t(w.start), "end": _t(w.end)} for w in transcript.words]
    if speakers:
        body["speakers"] = speakers["speakers"]
        body["speaker_limit_reached"] = speakers["speaker_limit_reached"]
    return Rendered(body, "application/json")
