# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for a speech service to be ready and check it with real speech.

Private to this collection. Three calls, all bounded in time, none raising
anything but ``ServiceCheckError`` (with a message fit for ``fail_json``):

* ``wait_ready(url, timeout, alive=None)`` -> ``ReadyResult``: poll a GET
  endpoint until it answers 200. ``alive()`` may return a reason string to
  stop early (for example "container exited with code 1").
* ``transcribe(url, audio, ...)`` -> text: one OpenAI-style
  ``POST /v1/audio/transcriptions``; waits out 503 + Retry-After (the bench
  fault switch and a busy GPU answer that) until the timeout.
* ``check_speech(url, audio, reference, max_wer, ...)`` -> dict with
  ``text``, ``wer``, ``max_wer``, ``passed``, ``seconds``.

Audio requests go out one at a time: a GPU host races parallel decodes.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

try:
    import requests

    HAS_REQUESTS = True
except ImportError:
    requests = None
    HAS_REQUESTS = False

try:
    import jiwer

    HAS_JIWER = True
except ImportError:
    jiwer = None
    HAS_JIWER = False


class ServiceCheckError(Exception):
    """A readiness or speech check could not be made or failed; says why."""


@dataclass
class ReadyResult:
    ready: bool
    url: str
    status: int | None
    seconds: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _need_requests() -> None:
    if not HAS_REQUESTS:
        raise ServiceCheckError("the Python 'requests' package is missing on this host: install requirements/runtime.txt")


def wait_ready(url: str, timeout: float, alive: Callable[[], str | None] | None = None,
               interval: float = 1.0, request_timeout: float = 5.0) -> ReadyResult:
    """Poll ``url`` until it answers 200, ``alive()`` reports a reason, or ``timeout`` passes."""
    _need_requests()
    start = time.monotonic()
    status, detail = None, "no answer yet"
    while True:
        try:
            answer = requests.get(url, timeout=request_timeout)
            status = answer.status_code
            if status == 200:
                return ReadyResult(True, url, status, round(time.monotonic() - start, 2), "ready")
            detail = f"HTTP {status}: {answer.text[:200].strip()}"
        except requests.RequestException as exc:
            status, detail = None, f"no answer ({type(exc).__name__})"
        reason = alive() if alive else None
        if reason:
            return ReadyResult(False, url, status, round(time.monotonic() - start, 2), reason)
        if time.monotonic() - start + interval > timeout:
            return ReadyResult(False, url, status, round(time.monotonic() - start, 2),
                               f"not ready after {timeout}s; last answer: {detail}")
        time.sleep(interval)


def transcribe(url: str, audio: bytes, filename: str = "speech.wav", model: str | None = None,
               timeout: float = 120.0, language: str | None = None) -> str:
    """Send one file to an OpenAI-style transcription endpoint and return the text."""
    _need_requests()
    deadline = time.monotonic() + timeout
    form = {"response_format": "json"}
    if model:
        form["model"] = model
    if language:
        form["language"] = language
    while True:
        left = deadline - time.monotonic()
        try:
            answer = requests.post(url, files={"file": (filename, audio, "audio/wav")}, data=form,
                                   timeout=max(left, 1.0))
        except requests.RequestException as exc:
            raise ServiceCheckError(f"transcription request to {url} failed: {type(exc).__name__}: {exc}") from None
        if answer.status_code == 503 and left > 1:
            time.sleep(min(float(answer.headers.get("Retry-After", "1") or 1), max(left - 1, 0.1)))
            continue
        if answer.status_code != 200:
            raise ServiceCheckError(f"transcription at {url} answered HTTP {answer.status_code}: {answer.text[:300].strip()}")
        try:
            return str(answer.json()["text"])
        except (ValueError, KeyError, TypeError):
            raise ServiceCheckError(f"transcription at {url} did not return JSON with a 'text' field: "
                                    f"{answer.text[:200].strip()}") from None


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER after lower-casing and dropping punctuation (needs jiwer)."""
    if not HAS_JIWER:
        raise ServiceCheckError("the Python 'jiwer' package is missing on this host (needed for the word error "
                                "rate): install requirements/runtime.txt")
    normalise = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                               jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])
    if not normalise(reference) or not normalise(reference)[0]:
        raise ServiceCheckError("the reference transcript is empty: give the words spoken in the audio")
    if not hypothesis.strip():
        return 1.0
    return float(jiwer.wer(reference, hypothesis, reference_transform=normalise, hypothesis_transform=normalise))


def check_speech(url: str, audio: bytes, reference: str, max_wer: float, timeout: float = 120.0,
                 model: str | None = None, filename: str = "speech.wav") -> dict[str, Any]:
    """Transcribe real speech once and compare it with the reference transcript."""
    start = time.monotonic()
    text = transcribe(url, audio, filename=filename, model=model, timeout=timeout)
    wer = word_error_rate(reference, text)
    return {"url": url, "text": text, "wer": round(wer, 4), "max_wer": max_wer, "passed": wer <= max_wer,
            "seconds": round(time.monotonic() - start, 2)}
