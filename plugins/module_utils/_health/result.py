# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What one health probe found, and the settings every probe reads.

Private to this collection. A probe returns a ``ProbeResult``: ``ok``,
``latency`` (wall seconds, retries included), ``details`` and, when it
failed, a ``failure`` code naming what broke plus a ``message`` saying what
to do. ``FAILURES`` lists the codes so reports and tests can rely on them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._health.verdicts import Verdicts
from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpClient

REMEDY_REAPPLY = "run reapply_patches.yml"
FAILURES = {
    "bad_input": "the test audio is not real speech",
    "service_down": "a service (or its container) does not answer",
    "connection": "connection refused or reset",
    "timeout": "no answer in time",
    "tls": "TLS failed: the certificate is not trusted, or the port does not speak TLS",
    "unavailable": "503 Service Unavailable after every retry",
    "http_error": "an unexpected HTTP status",
    "bad_response": "an answer of the wrong shape",
    "decoder_crash": "a real decode crashed the GPU decoder (cuda-python hazard)",
    "wer_exceeded": "the transcript is too far from the reference",
    "diarization_unsupported": "no speaker labels: the diarizer overlay is not loaded",
    "wrong_speaker_count": "the diarizer found the wrong number of speakers",
    "tts_bad_wav": "TTS did not return a readable WAV",
    "tts_duration": "TTS audio is implausibly short or long for its text",
    "tts_silence": "TTS returned silence or no speech",
    "catalogue_missing": "Spark Control's model list lacks the STT model or a voice",
    "overlay_missing": "the overlay is not in the container (recreated?)",
    "overlay_drift": "the overlay in the container differs from the collection's files",
    "config": "the probe cannot run with the options given",
}


@dataclass
class Settings:
    """Everything the probes need; built by the module from its options (their defaults live there)."""

    client: HttpClient
    control_url: str | None
    stt_url: str | None
    tts_url: str | None
    via: str
    stt_model: str
    tts_model: str
    voices: list[str]
    tts_text: str
    wer_threshold: float
    max_speakers: int
    fixtures: list[dict[str, Any]]
    diarization: dict[str, Any] | None
    expected_overlay: dict[str, str] | None
    min_speech_seconds: float
    # The input guard with its memory; none by default (the module gives it the verdict_cache file).
    verdicts: Verdicts = field(default_factory=lambda: Verdicts(None))

    def audio_base(self, service: str) -> str:
        """Where audio goes: through Spark Control, or straight to the service."""
        if self.via == "control":
            return self.control_url or ""
        return (self.stt_url if service == "stt" else self.tts_url) or ""


@dataclass
class ProbeResult:
    name: str
    ok: bool
    latency: float
    details: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "ok": self.ok, "latency": round(self.latency, 3), "details": self.details,
               "message": self.message}
        if self.failure:
            out["failure"] = self.failure
        return out


class Fail(Exception):
    """Raised inside a probe to end it with a named failure."""

    def __init__(self, failure: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.failure = failure
        self.details = details


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start
