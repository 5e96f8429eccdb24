# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and write files of one container directory through the archive API.

Private to this collection. ``read_dir`` fetches the whole directory as one
streamed tar (one Docker API round trip) and keeps the top-level entries;
when the directory turns out to hold more than ``scan_limit`` bytes it falls
back to one archive request per wanted name. ``write_entries`` sends every
file in one tar whose headers carry uid, gid and mode; ``remove_names``
deletes files (the archive API cannot) with one ``rm`` exec.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerException, NotFound, describe)

SCAN_LIMIT = 64 * 1024 * 1024


class ArchiveError(CollectionError):
    """A container directory cannot be read or written; the message says why."""


@dataclass(frozen=True)
class Entry:
    """A top-level filesystem object of the directory (or what to write there).

    ``kind`` is ``file``, ``symlink`` or ``other`` (directories, devices...);
    ``data`` holds a file's bytes, ``linkname`` a symlink's target.
    """

    name: str
    kind: str
    mode: int
    uid: int
    gid: int
    data: bytes = b""
    linkname: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def same_content(self, other: "Entry | None") -> bool:
        return (other is not None and self.kind == other.kind and self.linkname == other.linkname
                and len(self.data) == len(other.data) and self.data == other.data)

    def same_metadata(self, other: "Entry | None") -> bool:
        return other is not None and (self.mode, self.uid, self.gid) == (other.mode, other.uid, other.gid)


@dataclass
class DirSnapshot:
    """What ``read_dir`` saw: the directory's owner and its top-level entries."""

    path: str
    uid: int
    gid: int
    entries: dict[str, Entry]
    round_trips: int


class _ChunkReader(io.RawIOBase):
    """A readable file over the SDK's chunk generator, for tarfile's stream mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class _TooLarge(Exception):
    pass


def _entry(name: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> Entry:
    if member.isreg():
        handle = tar.extractfile(member)
        data = handle.read() if handle else b""
        return Entry(name, "file", member.mode & 0o7777, member.uid, member.gid, data)
    if member.issym():
        return Entry(name, "symlink", member.mode & 0o7777, member.uid, member.gid, linkname=member.linkname)
    return Entry(name, "other", member.mode & 0o7777, member.uid, member.gid)


def _get_archive(container: Any, path: str) -> Any:
    try:
        chunks, _stat = container.get_archive(path)
        return chunks
    except NotFound:
        return None
    except DockerException as exc:
        raise ArchiveError(f"cannot read {path} in container {container.name}: {describe(exc)}") from None


def _scan_whole(container: Any, dest: str, scan_limit: int) -> DirSnapshot:
    chunks = _get_archive(container, dest)
    if chunks is None:
        raise ArchiveError(
            f"destination {dest} does not exist in container {container.name}: create it in the "
            "image or choose the folder the server runs from"
        )
    root = posixpath.basename(dest.rstrip("/"))
    snapshot = DirSnapshot(dest, 0, 0, {}, 1)
    seen = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16), mode="r|") as tar:
            for member in tar:
                if member.name.rstrip("/") == root:
                    if not member.isdir():
                        raise ArchiveError(f"destination {dest} in container {container.name} is not a "
                                           "folder (a symlink or file): give the real folder path")
                    snapshot.uid, snapshot.gid = member.uid, member.gid
                    continue
                rel = member.name[len(root) + 1:] if member.name.startswith(root + "/") else member.name
                seen += member.size
                if seen > scan_limit:
                    raise _TooLarge()
                if "/" in rel.rstrip("/"):
                    continue  # only top-level entries matter: the overlay is flat
                snapshot.entries[rel.rstrip("/")] = _entry(rel.rstrip("/"), member, tar)
    except tarfile.TarError as exc:
        raise ArchiveError(f"unreadable archive of {dest} from container {container.name}: {exc}") from None
    except DockerException as exc:
        raise ArchiveError(f"reading {dest} from container {container.name} failed: {describe(exc)}") from None
    return snapshot


def _scan_names(container: Any, dest: str, names: Iterable[str]) -> DirSnapshot:
    """Fallback for big folders: one archive request per wanted name."""
    snapshot = DirSnapshot(dest, 0, 0, {}, 0)
    parent = _get_archive(container, dest.rstrip("/") + "/.")
    snapshot.round_trips += 1
    if parent is None:
        raise ArchiveError(f"destination {dest} does not exist in container {container.name}")
    # Only the folder's own header is needed; stop after the first member.
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(parent), 1 << 16), mode="r|") as tar:
        for member in tar:
            snapshot.uid, snapshot.gid = member.uid, member.gid
            break
    for name in names:
        chunks = _get_archive(container, posixpath.join(dest, name))
        snapshot.round_trips += 1
        if chunks is None:
            continue
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks), 1 << 16), mode="r|") as tar:
            for member in tar:
                snapshot.entries[name] = _entry(name, member, tar)
                break
    return snapshot


def read_dir(container: Any, dest: str, names: Iterable[str], scan_limit: int = SCAN_LIMIT) -> DirSnapshot:
    """Top-level entries of ``dest``; ``names`` are the ones needed for sure."""
    try:
        return _scan_whole(container, dest, scan_limit)
    except _TooLarge:
        return _scan_names(container, dest, names)


def build_tar(entries: Iterable[Entry], mtime: float | None = None) -> bytes:
    """A tar of flat entries whose headers carry each file's uid, gid and mode."""
    stamp = int(mtime if mtime is not None else time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.uid, info.gid, info.mode, info.mtime = entry.uid, entry.gid, entry.mode & 0o7777, stamp
            if entry.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, entry.linkname
                tar.addfile(info)
            elif entry.kind == "file":
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                raise ArchiveError(f"cannot write {entry.name}: only files and symlinks are supported")
    return buffer.getvalue()


def write_entries(container: Any, dest: str, entries: list[Entry]) -> None:
    """Upload every entry in one archive request."""
    if not entries:
        return
    try:
        if not container.put_archive(dest, build_tar(entries)):
            raise ArchiveError(f"the Docker engine refused the upload into {dest} of {container.name}")
    except DockerException as exc:
        raise ArchiveError(f"writing into {dest} of container {container.name} failed: {describe(exc)}") from None


def remove_names(container: Any, dest: str, names: list[str]) -> None:
    """Delete top-level files of ``dest`` with one ``rm -f`` exec."""
    if not names:
        return
    paths = [posixpath.join(dest, name) for name in names]
    try:
        result = container.exec_run(["rm", "-f", "--", *paths], user="0")
    except DockerException as exc:
        raise ArchiveError(f"cannot remove {paths} in container {container.name}: {describe(exc)}") from None
    if result.exit_code != 0:
        output = (result.output or b"").decode("utf-8", "replace").strip()
        raise ArchiveError(f"rm {' '.join(paths)} failed in container {container.name}: {output}")
