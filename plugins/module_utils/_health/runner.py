# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the health probes against one audio host, strictly one request at a time.

Private to this collection; the work behind the audio_health module. The
test audio is read and checked by the input guard first: if any file is not
real speech, nothing is sent and the run fails with the guard's verdicts.
Then the probes run in a fixed order, each catching its own failure, so one
broken service never hides the state of the others.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._health import audio_guard as guard
from ansible_collections.spark_control.audio.plugins.module_utils._health import probes_service as service
from ansible_collections.spark_control.audio.plugins.module_utils._health import probes_speech as speech
from ansible_collections.spark_control.audio.plugins.module_utils._health.options import PROBES
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import (
    Fail, ProbeResult, Settings, Timer)
from ansible_collections.spark_control.audio.plugins.module_utils._health.verdicts import Verdicts


class InputError(CollectionError):
    """The run cannot start: the message says which option or file is wrong."""


def available_probes(settings: Settings) -> list[str]:
    """The probes the given URLs allow (overlay needs the STT service's own URL)."""
    return [p for p in PROBES if p != "overlay" or (settings.stt_url and settings.expected_overlay)]


def _read(fixture: dict[str, Any]) -> bytes:
    if fixture.get("data") is not None:
        return fixture["data"]
    try:
        with open(fixture["path"], "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(f"cannot read test audio {fixture['path']}: {exc.strerror or exc}") from None


def _run(name: str, probe: Callable[..., dict[str, Any]], *args: Any) -> ProbeResult:
    timer = Timer()
    try:
        details = probe(*args)
    except Fail as exc:
        return ProbeResult(name, False, timer.seconds, exc.details, exc.failure, str(exc))
    return ProbeResult(name, True, timer.seconds, details, None, "ok")


def _guarded(settings: Settings, probes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(guard probe name, fixture) for each file the probes will send, each file once.

    Files are told apart by path, never by name: two files that shared a name would be judged and sent as
    one. The same file may serve stt and diarization (the defaults do: two_speakers.wav). Two stt files
    may not share a probe name; a diarization file whose name an stt file of its own already has (the
    shipped two_speakers.wav beside a recording of that name) is guarded as diarization:<name>."""
    stt = list(settings.fixtures) if "stt" in probes else []
    diar = settings.diarization if "diarization" in probes else None
    by_name: dict[str, dict[str, Any]] = {}
    by_path: dict[str, str] = {}
    for fixture in stt:
        other = by_name.setdefault(fixture["name"], fixture)
        if other is not fixture:
            raise InputError(f"audio_files {other['path']} and {fixture['path']} are both named "
                             f"{fixture['name']!r} (the probe stt:{fixture['name']}): give one of them its own name "
                             "(audio_files[].name), or list a file once")
        by_path.setdefault(fixture["path"], fixture["name"])
    if diar and diar["path"] not in by_path:
        name = diar["name"] if diar["name"] not in by_name else f"diarization:{diar['name']}"
        if name in by_name:
            raise InputError(f"diarization_file {diar['path']} and audio_files {by_name[name]['path']} are both "
                             f"named {name!r}: give one of them another name")
        by_name[name] = diar
        by_path[diar["path"]] = name
    return [(name, by_name[name]) for name in by_path.values()]


def check_inputs(fixtures: list[tuple[str, dict[str, Any]]], min_speech: float,
                 verdicts: Verdicts) -> tuple[list[ProbeResult], dict[str, bytes]]:
    """Read every (name, test file) once and judge it; returns guard results and the bytes by path."""
    results, audio = [], {}
    for name, fixture in fixtures:
        timer = Timer()
        data = _read(fixture)
        verdict = verdicts.inspect(data, min_speech)
        details = {"file": fixture["path"], "kind": verdict.kind, **verdict.metrics}
        if verdict.is_speech:
            results.append(ProbeResult(f"input_guard:{name}", True, timer.seconds, details, None, "real speech"))
            audio[fixture["path"]] = data
        else:
            results.append(ProbeResult(
                f"input_guard:{name}", False, timer.seconds, details, "bad_input",
                f"refusing {fixture['path']}: {verdict.message}; {guard.WHY}. Give a 16 kHz mono WAV of "
                "a few spoken sentences"))
    return results, audio


def run(settings: Settings, probes: list[str]) -> dict[str, Any]:
    fixtures = list(settings.fixtures)
    if settings.diarization and "diarization" in probes:
        fixtures.append(settings.diarization)
    for fixture in fixtures:
        fixture.setdefault("filename", os.path.basename(fixture["path"]))
    results, audio = check_inputs(_guarded(settings, probes), settings.min_speech_seconds, settings.verdicts)
    if any(not r.ok for r in results):
        return summarise(results, aborted="the input guard refused the test audio: nothing was sent")
    if "liveness" in probes:
        results.append(_run("liveness", service.liveness, settings))
    if "catalogue" in probes:
        results.append(_run("catalogue", service.catalogue, settings))
    if "overlay" in probes:
        results.append(_run("overlay", service.overlay, settings))
    if "stt" in probes:
        for fixture in settings.fixtures:
            results.append(_run(f"stt:{fixture['name']}", speech.stt, settings, fixture, audio[fixture["path"]]))
    if "diarization" in probes and settings.diarization:
        fixture = settings.diarization
        results.append(_run("diarization", speech.diarization, settings, fixture, audio[fixture["path"]]))
    if "tts" in probes:
        for voice in settings.voices:
            results.append(_run(f"tts:{voice}", speech.tts, settings, voice))
    return summarise(results)


def summarise(results: list[ProbeResult], aborted: str | None = None) -> dict[str, Any]:
    failed = [r for r in results if not r.ok]
    llm = next((r.details.get("llm_model") for r in results if r.name == "catalogue"), None)
    lines = [f"{'PASS' if r.ok else 'FAIL'} {r.name} ({r.latency:.2f} s)"
             + ("" if r.ok else f" [{r.failure}] {r.message}") for r in results]
    if aborted:
        lines.append(aborted)
    return {
        "healthy": not failed and not aborted,
        "probes": [r.as_dict() for r in results],
        "failed_probes": [r.name for r in failed],
        "failures": {r.name: r.failure for r in failed},
        "llm_model": llm,
        "summary": lines,
        "duration": round(sum(r.latency for r in results), 3),
    }
