# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The manifest speech_patch writes next to the overlay (``.spark_overlay.json``).

Private to this collection. It records the overlay version, the sha256 of
every overlay file and when it was applied, so later runs (and people) can
tell the overlay is present and whether a file drifted since. It also
carries the container's start time at the moment the files were written
(``written_during``): while the container still has that start time, the
running server was started before the files arrived and serves the old code
(restart=false, or a run interrupted between the write and the restart), so
the files are not "current" until it restarts. No clocks are compared.
"""
from __future__ import annotations

import json
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._state_files import utc_timestamp

TOOL = "spark_control.audio.speech_patch"


def build(version: str, files: dict[str, str], image_id: str, written_during: str,
          applied_at: str | None = None) -> dict[str, Any]:
    return {
        "version": version,
        "files": dict(sorted(files.items())),
        "applied_at": applied_at or utc_timestamp(),
        "image_id": image_id,
        "written_during": written_during,
        "tool": TOOL,
    }


def activated(manifest: dict[str, Any] | None, started_at: str) -> bool:
    """Whether the container restarted since the files the manifest describes were written."""
    if manifest is None or not manifest.get("written_during"):
        return True  # no overlay, a version that always restarted, or only the manifest written on loaded files
    return manifest["written_during"] != started_at


def remark(data: bytes, written_during: str) -> bytes:
    """A manifest's bytes with a new ``written_during`` (for files written back by a rollback)."""
    manifest = parse(data)
    return encode(dict(manifest, written_during=written_during)) if manifest else data


def encode(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def parse(data: bytes | None) -> dict[str, Any] | None:
    """The manifest, or None when it is missing or unreadable (treated as absent)."""
    if not data:
        return None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    return manifest


def same_overlay(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """True when ``current`` records the same version and file checksums."""
    return (current is not None and current.get("version") == wanted["version"]
            and current.get("files") == wanted["files"])


def drift(manifest: dict[str, Any] | None, actual: dict[str, str | None]) -> list[str]:
    """Files whose content no longer matches what the manifest recorded."""
    if manifest is None:
        return []
    return sorted(name for name, digest in manifest["files"].items() if actual.get(name) != digest)
