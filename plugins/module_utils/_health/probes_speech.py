# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes that send real speech: STT, diarization, TTS round trip.

Private to this collection. Each function sends its requests one after the
other through the run's client, returns a details dict, or raises ``Fail``
naming what broke. The callers have already checked the test audio is real
speech (``audio_guard``).
"""
from __future__ import annotations

from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._health.http_calls import call, json_body
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import REMEDY_REAPPLY, Fail, Settings
from ansible_collections.spark_control.audio.plugins.module_utils._wer import word_error_rate

# Plausible speaking rates for synthetic speech, in words per second, and the
# silence a TTS engine may add around the words.
MIN_WORDS_PER_SECOND = 0.8
MAX_WORDS_PER_SECOND = 6.0
PADDING_SECONDS = 2.0


def transcribe(settings: Settings, audio: bytes, filename: str, **form: str) -> tuple[dict[str, Any], float]:
    url = settings.audio_base("stt") + "/v1/audio/transcriptions"
    data = {"model": settings.stt_model, "response_format": "json", **form}
    reply = call(settings, "POST", url, files={"file": (filename, audio, "audio/wav")}, data=data)
    body = json_body(reply, url)
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise Fail("bad_response", f"{url} answered without a 'text' field: {str(body)[:200]}", url=url)
    return body, reply.seconds


def _score(settings: Settings, reference: str | None, heard: str, details: dict[str, Any], what: str) -> None:
    details["text"] = heard
    if reference is None:
        if not heard.strip():
            raise Fail("wer_exceeded", f"{what}: the transcript is empty", **details)
        details["wer"] = None
        return
    details["wer"] = round(word_error_rate(reference, heard), 4)
    details["wer_threshold"] = settings.wer_threshold
    if details["wer"] > settings.wer_threshold:
        raise Fail("wer_exceeded", f"{what}: word error rate {details['wer']:.2f} exceeds "
                                   f"{settings.wer_threshold:.2f}; heard {heard[:160]!r}", **details)


def stt(settings: Settings, fixture: dict[str, Any], audio: bytes) -> dict[str, Any]:
    """One real-speech file in, text within the WER threshold out."""
    body, seconds = transcribe(settings, audio, fixture["filename"])
    details: dict[str, Any] = {"file": fixture["path"], "request_seconds": round(seconds, 3)}
    _score(settings, fixture.get("reference"), body["text"], details, f"transcript of {fixture['name']}")
    return details


def count_speakers(body: dict[str, Any]) -> tuple[int, list[str]]:
    labels = sorted({str(s["speaker"]) for s in body.get("segments") or []
                     if isinstance(s, dict) and s.get("speaker") is not None})
    declared = body.get("speakers")
    if isinstance(declared, list):
        return len(declared), labels or [str(x) for x in declared]
    if isinstance(declared, int) and not isinstance(declared, bool):
        return declared, labels
    return len(labels), labels


def diarization(settings: Settings, fixture: dict[str, Any], audio: bytes) -> dict[str, Any]:
    """The multi-speaker fixture yields the expected number of speakers (4 at most)."""
    body, seconds = transcribe(settings, audio, fixture["filename"], response_format="verbose_json",
                               diarize="true")
    count, labels = count_speakers(body)
    details: dict[str, Any] = {"file": fixture["path"], "speakers": count, "labels": labels,
                               "expected": fixture.get("speakers"), "request_seconds": round(seconds, 3)}
    if count == 0 and "speakers" in body:
        # The overlay always says how many speakers it found (a stock server says nothing): it is loaded, but its
        # diarizer found no turn in speech it transcribed (an empty transcript fails as such first).
        _score(settings, None, body["text"], details, f"diarized transcript of {fixture['name']}")
        raise Fail("wrong_speaker_count", f"the diarizer found no speaker turns in {fixture['name']}, though the "
                                          f"overlay is loaded and heard {body['text'][:80]!r}: look for diarizer "
                                          "errors in the parakeet-asr container's log, or give a recording with "
                                          "longer, clearly audible turns of each speaker", **details)
    if not labels and count == 0:
        raise Fail("diarization_unsupported", "the answer carries no speaker labels: the diarizer overlay is "
                                              f"not loaded ({REMEDY_REAPPLY})", **details)
    if count > settings.max_speakers:
        raise Fail("wrong_speaker_count", f"{count} speakers found; the diarizer supports "
                                          f"{settings.max_speakers} at most", **details)
    expected = fixture.get("speakers")
    if expected is not None and count != expected:
        raise Fail("wrong_speaker_count", f"{count} speakers found in {fixture['name']}, expected {expected}",
                   **details)
    return details


def plausible_duration(text: str) -> tuple[float, float]:
    words = max(1, len(text.split()))
    return words / MAX_WORDS_PER_SECOND, words / MIN_WORDS_PER_SECOND + PADDING_SECONDS


def tts(settings: Settings, voice: str) -> dict[str, Any]:
    """Speech for the text comes back as a WAV that holds speech and says the text."""
    url = settings.audio_base("tts") + "/v1/audio/speech"
    body = {"model": settings.tts_model, "input": settings.tts_text, "voice": voice, "response_format": "wav"}
    reply = call(settings, "POST", url, json=body)
    details: dict[str, Any] = {"voice": voice, "bytes": len(reply.content),
                               "request_seconds": round(reply.seconds, 3)}
    verdict = settings.verdicts.inspect(reply.content, settings.min_speech_seconds)
    details["audio"] = verdict.metrics
    if verdict.kind == "unreadable":
        raise Fail("tts_bad_wav", f"voice {voice}: the answer is not a readable WAV: {verdict.message}", **details)
    low, high = plausible_duration(settings.tts_text)
    duration = verdict.metrics.get("duration", 0.0)
    if not low <= duration <= high:
        raise Fail("tts_duration", f"voice {voice}: {duration:.2f} s of audio for {len(settings.tts_text.split())} "
                                   f"words; expected {low:.1f} to {high:.1f} s", **details)
    if not verdict.is_speech:
        raise Fail("tts_silence", f"voice {voice}: TTS returned no speech: {verdict.message}", **details)
    heard, seconds = transcribe(settings, reply.content, f"tts-{voice}.wav")
    details["roundtrip_request_seconds"] = round(seconds, 3)
    _score(settings, settings.tts_text, heard["text"], details, f"voice {voice} transcribed back")
    return details
