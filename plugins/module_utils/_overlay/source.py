# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay to apply: flat files read from a folder or a list of paths.

Private to this collection. Used on the controller by the speech_patch action
plugin (which ships the files to the audio host inside the module arguments)
and on the audio host by the module itself when ``remote_src=true``.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import stat
from dataclasses import dataclass
from typing import Any, Iterable

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

MANIFEST_NAME = ".spark_overlay.json"
DEFAULT_EXCLUDES = ("__pycache__", "*.pyc", ".*")


class OverlaySourceError(CollectionError):
    """The overlay source cannot be used; the message names the path and the fix."""


@dataclass(frozen=True)
class OverlayFile:
    """One overlay file: its plain name inside the destination, bytes and mode."""

    name: str
    data: bytes
    mode: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_name(name: str) -> str:
    """Accept only a plain file name: no directory part, no traversal."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise OverlaySourceError(f"overlay file name {name!r} is not a plain file name")
    if "/" in name or "\\" in name or "\0" in name:
        raise OverlaySourceError(
            f"overlay file name {name!r} contains a path separator: overlay files land "
            "directly in dest, give plain names (path traversal is refused)"
        )
    if name == MANIFEST_NAME:
        raise OverlaySourceError(f"{MANIFEST_NAME} is reserved for the manifest speech_patch writes")
    return name


def _read(path: str, label: str) -> tuple[bytes, int]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return data, stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        raise OverlaySourceError(f"{label} {path} does not exist") from None
    except IsADirectoryError:
        raise OverlaySourceError(f"{label} {path} is a directory, not a file") from None
    except OSError as exc:
        raise OverlaySourceError(
            f"cannot read {label} {path}: {exc.strerror or exc}; fix its permissions"
        ) from None


def load_dir(path: str, exclude: Iterable[str] = DEFAULT_EXCLUDES) -> list[OverlayFile]:
    """Every file of a flat folder, sorted by name, minus the excluded patterns."""
    if not os.path.exists(path):
        raise OverlaySourceError(f"overlay source folder {path} does not exist")
    if not os.path.isdir(path):
        raise OverlaySourceError(f"overlay source {path} is not a folder: use 'files' for single files")
    patterns = list(exclude)
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise OverlaySourceError(f"cannot list overlay source folder {path}: {exc.strerror or exc}") from None
    files = []
    for name in names:
        if any(fnmatch.fnmatch(name, pattern) for pattern in patterns):
            continue
        full = os.path.join(path, name)
        if os.path.isdir(full):
            raise OverlaySourceError(
                f"overlay source folder {path} must be flat, but holds the folder {name}: "
                "move its files up or add it to 'exclude'"
            )
        data, mode = _read(full, "overlay file")
        files.append(OverlayFile(check_name(name), data, mode))
    if not files:
        raise OverlaySourceError(
            f"overlay source folder {path} holds no files (after excluding {patterns}): "
            "nothing to apply; check the path"
        )
    return files


def normalize_entries(entries: list[Any]) -> list[dict[str, Any]]:
    """Turn the 'files' option (paths or {src, name} dicts) into dicts."""
    out = []
    for entry in entries:
        if isinstance(entry, str):
            entry = {"src": entry}
        if not isinstance(entry, dict) or not entry.get("src"):
            raise OverlaySourceError(f"each 'files' entry needs a src path, got {entry!r}")
        unknown = set(entry) - {"src", "name"}
        if unknown:
            raise OverlaySourceError(f"'files' entry {entry!r} has unknown keys {sorted(unknown)}: use src and name")
        out.append({"src": str(entry["src"]),
                    "name": entry.get("name") or os.path.basename(str(entry["src"]).rstrip("/"))})
    return out


def load_list(entries: list[Any]) -> list[OverlayFile]:
    """The files named by the 'files' option, in the order given."""
    entries = normalize_entries(entries)
    if not entries:
        raise OverlaySourceError("'files' is empty: nothing to apply")
    files, seen = [], set()
    for entry in entries:
        name = check_name(entry["name"])
        if name in seen:
            raise OverlaySourceError(f"two 'files' entries would both write {name}")
        seen.add(name)
        data, mode = _read(entry["src"], "overlay file")
        files.append(OverlayFile(name, data, mode))
    return files


def content_version(files: Iterable[OverlayFile]) -> str:
    """A version string that changes whenever a name or a byte changes."""
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.name):
        digest.update(f"{item.name}\0{item.sha256}\n".encode())
    return "content-" + digest.hexdigest()[:12]


def to_wire(files: Iterable[OverlayFile]) -> list[dict[str, Any]]:
    """Module-argument form (JSON-safe): base64 content plus its checksum."""
    return [
        {"name": f.name, "content": base64.b64encode(f.data).decode("ascii"),
         "mode": f.mode, "sha256": f.sha256, "size": len(f.data)}
        for f in files
    ]


def from_wire(items: list[dict[str, Any]]) -> list[OverlayFile]:
    """Inverse of to_wire; refuses content whose checksum does not match."""
    files = []
    for item in items:
        data = base64.b64decode(item["content"])
        overlay = OverlayFile(check_name(item["name"]), data, int(item["mode"]))
        if item.get("sha256") and item["sha256"] != overlay.sha256:
            raise OverlaySourceError(f"overlay file {item['name']} was corrupted in transfer (checksum mismatch)")
        files.append(overlay)
    if not files:
        raise OverlaySourceError("the overlay is empty: nothing to apply")
    return files
