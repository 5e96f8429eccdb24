# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The overlay to apply: flat files read from a folder or a list of paths.

Private to this collection. Used on the controller by the speech_patch action
plugin (which ships the files to the audio host inside the module arguments:
first their digests only, then the bytes of the files that differ) and on the
audio host by the module itself when ``remote_src=true``. A file is hashed
while it is read; nothing bigger than ``max_size`` is read, and a symlink
that leads out of the overlay folder is refused, so no file from elsewhere on
the controller can end up in the container.
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
MAX_FILE_SIZE = 16 * 1024 * 1024  # server code and a warm-up clip; bigger files are data, not an overlay


class OverlaySourceError(CollectionError):
    """The overlay source cannot be used; the message names the path and the fix."""


@dataclass(frozen=True)
class OverlayFile:
    """One overlay file: its plain name inside the destination, mode, digest and size, and its bytes
    (None while only the digest travelled: the module asks for the bytes of files that differ)."""

    name: str
    mode: int
    sha256: str
    size: int
    data: bytes | None = None

    @classmethod
    def of(cls, name: str, data: bytes, mode: int) -> "OverlayFile":
        return cls(name, mode, hashlib.sha256(data).hexdigest(), len(data), data)


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


def _read(path: str, label: str, max_size: int) -> tuple[bytes, int]:
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise OverlaySourceError(f"{label} {path} is a directory, not a file")
        if info.st_size > max_size:
            raise OverlaySourceError(f"{label} {path} is {info.st_size} bytes, more than max_file_size "
                                     f"({max_size}): an overlay holds server code, not data; raise max_file_size "
                                     "if this file is really meant")
        with open(path, "rb") as handle:
            data = handle.read(max_size + 1)
        if len(data) > max_size:
            raise OverlaySourceError(f"{label} {path} grew past max_file_size ({max_size}) while it was read")
        return data, stat.S_IMODE(info.st_mode)
    except FileNotFoundError:
        raise OverlaySourceError(f"{label} {path} does not exist") from None
    except OSError as exc:
        raise OverlaySourceError(
            f"cannot read {label} {path}: {exc.strerror or exc}; fix its permissions"
        ) from None


def _inside(folder: str, full: str, name: str) -> None:
    """A symlink in the overlay folder may only lead to a file inside it."""
    if not os.path.islink(full):
        return
    target = os.path.realpath(full)
    root = os.path.realpath(folder)
    if os.path.commonpath([root, target]) != root:
        raise OverlaySourceError(
            f"overlay file {name} in {folder} is a symlink to {os.readlink(full)}, outside the overlay folder: "
            "refused (it would copy a file from elsewhere into the container); replace the link by the file")


def load_dir(path: str, exclude: Iterable[str], max_size: int) -> list[OverlayFile]:
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
        _inside(path, full, name)
        if os.path.isdir(full):
            raise OverlaySourceError(
                f"overlay source folder {path} must be flat, but holds the folder {name}: "
                "move its files up or add it to 'exclude'"
            )
        data, mode = _read(full, "overlay file", max_size)
        files.append(OverlayFile.of(check_name(name), data, mode))
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


def load_list(entries: list[Any], max_size: int) -> list[OverlayFile]:
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
        data, mode = _read(entry["src"], "overlay file", max_size)
        files.append(OverlayFile.of(name, data, mode))
    return files


def content_version(files: Iterable[OverlayFile]) -> str:
    """A version string that changes whenever a name or a byte changes."""
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.name):
        digest.update(f"{item.name}\0{item.sha256}\n".encode())
    return "content-" + digest.hexdigest()[:12]


def to_wire(files: Iterable[OverlayFile], content: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Module-argument form (JSON-safe): name, mode, digest and size, and the bytes (base64) of the
    files named in ``content`` only."""
    wanted = set(content)
    out = []
    for f in files:
        item: dict[str, Any] = {"name": f.name, "mode": f.mode, "sha256": f.sha256, "size": f.size}
        if f.name in wanted and f.data is not None:
            item["content"] = base64.b64encode(f.data).decode("ascii")
        out.append(item)
    return out


def from_wire(items: list[dict[str, Any]]) -> list[OverlayFile]:
    """Inverse of to_wire; refuses content whose checksum does not match."""
    files = []
    for item in items:
        if not isinstance(item, dict) or not {"name", "mode", "sha256", "size"} <= set(item):
            raise OverlaySourceError(f"malformed _overlay entry {item!r:.120}: it is set by the action plugin")
        data = base64.b64decode(item["content"]) if item.get("content") is not None else None
        overlay = OverlayFile(check_name(item["name"]), int(item["mode"]), str(item["sha256"]), int(item["size"]),
                              data)
        if data is not None and OverlayFile.of(overlay.name, data, overlay.mode).sha256 != overlay.sha256:
            raise OverlaySourceError(f"overlay file {item['name']} was corrupted in transfer (checksum mismatch)")
        files.append(overlay)
    if not files:
        raise OverlaySourceError("the overlay is empty: nothing to apply")
    return files
