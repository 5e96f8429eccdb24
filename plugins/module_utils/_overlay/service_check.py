# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for a speech service to be ready and check it with real speech.

Private to this collection; speech_patch's checks after a restart. Both go
through the collection's one HTTP client (``_http``, which honours
``Retry-After`` in both its forms) and its one word error rate (``_wer``),
are bounded in time, and raise nothing but ``ServiceCheckError`` (a message
fit for ``fail_json``):

* ``wait_ready(url, timeout, alive=None)`` -> ``ReadyResult``: poll a GET
  endpoint until it answers 200. ``alive()`` may return a reason string to
  stop early (for example "container exited with code 1").
* ``transcribe(url, audio, ...)`` -> text: one OpenAI-style
  ``POST /v1/audio/transcriptions``; waits out 503 + Retry-After (a busy GPU
  answers that) until the timeout.
* ``check_speech(url, audio, reference, max_wer, ...)`` -> dict with
  ``text``, ``wer``, ``max_wer``, ``passed``, ``seconds``;
* ``preflight(...)``: what can be checked before the first byte is written,
  so a wrong option never costs a restart: the readiness URL answers, the
  verify clip is real speech (audio_health's input guard), its reference is
  not empty, and the verify URL is a route of the running server.

Audio requests go out one at a time: a GPU host races parallel decodes.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpClient, HttpFailure

USER_AGENT = "spark_control.audio.speech_patch"


class ServiceCheckError(CollectionError):
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


def wait_ready(url: str, timeout: float, alive: Callable[[], str | None] | None = None,
               interval: float = 1.0, request_timeout: float = 5.0) -> ReadyResult:
    """Poll ``url`` until it answers 200, ``alive()`` reports a reason, or ``timeout`` passes."""
    # Polling is this loop's job: the client itself does not retry 503s here.
    client = HttpClient(timeout=request_timeout, retries=0, user_agent=USER_AGENT)
    start = time.monotonic()
    status, detail = None, "no answer yet"
    try:
        while True:
            try:
                answer = client.request("GET", url)
                status = answer.status
                if status == 200:
                    return ReadyResult(True, url, status, round(time.monotonic() - start, 2), "ready")
                detail = f"HTTP {status}: {answer.error_text(200).strip()}"
            except HttpFailure as exc:
                status, detail = None, f"no answer ({exc.kind}: {exc})"
            reason = alive() if alive else None
            if reason:
                return ReadyResult(False, url, status, round(time.monotonic() - start, 2), reason)
            if time.monotonic() - start + interval > timeout:
                return ReadyResult(False, url, status, round(time.monotonic() - start, 2),
                                   f"not ready after {timeout}s; last answer: {detail}")
            time.sleep(interval)
    finally:
        client.close()


def transcribe(url: str, audio: bytes, filename: str = "speech.wav", model: str | None = None,
               timeout: float = 120.0, language: str | None = None) -> str:
    """Send one file to an OpenAI-style transcription endpoint and return the text."""
    form = {"response_format": "json"}
    if model:
        form["model"] = model
    if language:
        form["language"] = language
    # 503 answers are waited out (Retry-After honoured) for as long as the timeout allows.
    client = HttpClient(timeout=timeout, retries=100, retry_max_time=timeout, user_agent=USER_AGENT)
    try:
        answer = client.request("POST", url, files={"file": (filename, audio, "audio/wav")}, data=form)
    except HttpFailure as exc:
        raise ServiceCheckError(f"transcription request to {url} failed: {exc}") from None
    finally:
        client.close()
    if answer.status != 200:
        waited = f" (still 503 after {answer.attempts} tries over {answer.seconds:.0f} s)" if answer.exhausted else ""
        raise ServiceCheckError(f"transcription at {url} answered HTTP {answer.status}{waited}: "
                                f"{answer.error_text().strip()}")
    try:
        return str(answer.json()["text"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ServiceCheckError(f"transcription at {url} did not return JSON with a 'text' field: "
                                f"{answer.content[:200].decode('utf-8', 'replace').strip()}") from None


def _answers(client: HttpClient, url: str, what: str, timeout: float) -> int:
    """The status ``url`` answers a GET with, waiting while nothing listens (a server still starting)."""
    start = time.monotonic()
    while True:
        try:
            return client.request("GET", url).status
        except HttpFailure as exc:
            if time.monotonic() - start >= timeout:
                raise ServiceCheckError(f"{what} {url} does not answer ({exc}) and the container's files were not "
                                        f"touched: check the URL (as seen from the audio host) and that the service "
                                        f"is up, then run again") from None
            time.sleep(1.0)


def preflight(ready_url: str | None, verify: Any, timeout: float) -> dict[str, Any]:
    """Check the options against the running service before anything is written; raises ServiceCheckError."""
    found: dict[str, Any] = {}
    if verify is not None:
        # Imported where used: a no-op run (nothing restarts) never loads jiwer and num2words.
        from ansible_collections.spark_control.audio.plugins.module_utils._wer import normalise

        if not normalise(verify.text):
            raise ServiceCheckError("verify.text is empty (after dropping punctuation): give the words spoken in "
                                    "verify.audio")
        from ansible_collections.spark_control.audio.plugins.module_utils._health import audio_guard

        verdict = audio_guard.inspect(verify.audio, 1.0)
        if not verdict.is_speech:
            raise ServiceCheckError(f"verify.audio is not real speech: {verdict.message}; {audio_guard.WHY}. Give a "
                                    "WAV of a few spoken sentences")
    client = HttpClient(timeout=10.0, retries=0, user_agent=USER_AGENT)
    try:
        if ready_url:
            found["ready_url_status"] = _answers(client, ready_url, "ready_url", timeout)
        if verify is not None:
            status = _answers(client, verify.url, "verify.url", timeout)
            if status == 404:
                raise ServiceCheckError(f"verify.url {verify.url} answers 404: the running server has no such route, "
                                        "so it is not a transcription endpoint (expected e.g. "
                                        "http://127.0.0.1:8010/v1/audio/transcriptions)")
            found["verify_url_status"] = status
    finally:
        client.close()
    return found


def check_speech(url: str, audio: bytes, reference: str, max_wer: float, timeout: float = 120.0,
                 model: str | None = None, filename: str = "speech.wav") -> dict[str, Any]:
    """Transcribe real speech once and compare it with the reference transcript."""
    from ansible_collections.spark_control.audio.plugins.module_utils._wer import normalise, word_error_rate

    if not normalise(reference):
        raise ServiceCheckError("the reference transcript is empty: give the words spoken in the audio")
    start = time.monotonic()
    text = transcribe(url, audio, filename=filename, model=model, timeout=timeout)
    wer = word_error_rate(reference, text)
    return {"url": url, "text": text, "wer": round(wer, 4), "max_wer": max_wer, "passed": wer <= max_wer,
            "seconds": round(time.monotonic() - start, 2)}
