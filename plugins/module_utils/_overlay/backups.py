# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Originals of overwritten container files, kept on the host by image id.

Private to this collection. ``docker rm`` wipes whatever was copied into a
container, and a recreated container starts again from its image, so the
originals are stored per image id under ``<root>/<image-id>/``:
``index.json`` says for every recorded file, by its path in the container
(``/app/main.py``: the folder is part of the key, so ``/app/utils.py`` and
``/app/plugins/utils.py`` are two originals), whether it existed (and its
mode, owner, checksum) and which file under the store holds its bytes
(``originals/<folder, %-quoted>/<name>``). A path is recorded once, before
its first overwrite, and never replaced afterwards. Writes are atomic and
serialised with a lock file (``_state_files``), because several containers
of the same image may be patched at the same time.

Stores written before the folder was part of the key name files by their
bare name, with the bytes in ``files/<name>``; they were all for ``/app``
(the only folder allowed by default), so they are read as ``/app``'s, and
the next record rewrites their index keys (the bytes stay where they are).
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import quote

from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import Entry
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import atomic_write, locked, utc_timestamp

_IMAGE_ID = re.compile(r"^(sha256:)?[0-9a-f]{12,64}$")
LEGACY_DEST = "/app"  # the folder of the entries of stores keyed by bare file name


class BackupError(CollectionError):
    """The backup store cannot be read or written; the message says why."""


def _upgraded(index: dict[str, Any]) -> dict[str, Any]:
    """``index`` with the bare-name keys of an older store turned into ``/app`` paths (bytes left in place)."""
    old = index.get("files", {})
    files = {key: info for key, info in old.items() if key.startswith("/")}
    for name, info in old.items():
        if not name.startswith("/"):  # an entry already kept under its path wins
            files.setdefault(posixpath.join(LEGACY_DEST, name), dict(info, file=posixpath.join("files", name)))
    return dict(index, files=files)


class BackupStore:
    """The originals of one image's files in one container folder, ``dest``."""

    def __init__(self, root: str, image_id: str, dest: str) -> None:
        if not _IMAGE_ID.match(image_id or ""):
            raise BackupError(f"unexpected image id {image_id!r}: cannot key the backup on it")
        self.root = root
        self.image_id = image_id
        self.dest = posixpath.normpath(dest)
        self.path = os.path.join(root, image_id.replace(":", "-"))

    def _key(self, name: str) -> str:
        return posixpath.join(self.dest, name)

    # -- reading --------------------------------------------------------
    def index(self) -> dict[str, Any]:
        """The whole store (every folder), keyed by container path."""
        try:
            with open(os.path.join(self.path, "index.json"), encoding="utf-8") as handle:
                return _upgraded(json.load(handle))
        except FileNotFoundError:
            return {"image_id": self.image_id, "files": {}}
        except (OSError, ValueError, AttributeError) as exc:  # AttributeError: not a JSON object
            raise BackupError(f"cannot read the backup index in {self.path}: {exc}") from None

    def recorded(self) -> dict[str, dict[str, Any]]:
        """What is recorded for ``dest``, by file name."""
        return {posixpath.basename(key): info for key, info in self.index().get("files", {}).items()
                if posixpath.dirname(key) == self.dest}

    def original(self, name: str) -> Entry | None:
        """The recorded original of ``name`` in ``dest`` (None: it did not exist)."""
        info = self.recorded().get(name)
        if info is None:
            raise BackupError(f"no original of {self._key(name)} was recorded in {self.path}")
        if not info["existed"]:
            return None
        data = b""
        if info["kind"] == "file":
            try:
                with open(os.path.join(self.path, info.get("file", "")), "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise BackupError(f"cannot read the backup of {name} in {self.path}: {exc}") from None
            if hashlib.sha256(data).hexdigest() != info["sha256"]:
                raise BackupError(f"the backup of {name} in {self.path} is corrupted (checksum mismatch)")
        return Entry(name, info["kind"], info["mode"], info["uid"], info["gid"], data, info.get("linkname", ""))

    # -- writing --------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise BackupError(
                f"cannot create the backup folder {self.path}: {exc.strerror or exc}; set backup_dir "
                "to a folder this user may write"
            ) from None
        with locked(os.path.join(self.path, ".lock")):
            yield

    def _write(self, relative: str, data: bytes) -> None:
        target = os.path.join(self.path, relative)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        atomic_write(target, data, 0o600)

    def record(self, current: dict[str, Entry | None], container: str) -> list[str]:
        """Keep the current state of every name (in ``dest``) not recorded yet; return those names."""
        with self._locked():
            index = self.index()
            files = index.setdefault("files", {})
            added = []
            try:
                for name, entry in sorted(current.items()):
                    key = self._key(name)
                    if key in files:
                        continue
                    if entry is None:
                        info: dict[str, Any] = {"existed": False}
                    else:
                        if entry.kind == "other":
                            raise BackupError(f"{key} in {container} is not a file or symlink: refusing to replace it")
                        info = {"existed": True, "kind": entry.kind, "mode": entry.mode, "uid": entry.uid,
                                "gid": entry.gid, "size": len(entry.data), "sha256": entry.sha256,
                                "linkname": entry.linkname}
                        if entry.kind == "file":
                            info["file"] = posixpath.join("originals", quote(self.dest, safe=""), name)
                            self._write(info["file"], entry.data)
                    files[key] = dict(info, recorded_at=utc_timestamp(), container=container)
                    added.append(name)
                if added:
                    index["image_id"] = self.image_id
                    self._write("index.json", (json.dumps(index, indent=2, sort_keys=True) + "\n").encode())
            except OSError as exc:
                raise BackupError(f"cannot write the backup in {self.path}: {exc.strerror or exc}") from None
            return added
