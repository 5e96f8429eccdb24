# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read and write files of one container directory through the archive API.

Private to this collection. ``read_names`` gets the named top-level entries
of a folder (and the folder's owner) in one streamed archive request,
keeping only their bytes; memory and time are bounded by what is named, not
by the folder: when the folder holds more than ``SKIP_BUDGET`` bytes of
other data, or the stream runs past ``READ_SECONDS``, it is closed (the
engine holds the container's lock while it streams, so an abandoned stream
would stall every later request) and the named entries still missing are
read one request each. A named entry larger than ``max_size`` is refused
before its bytes are read. ``write_entries`` sends every file in one tar
whose headers carry uid, gid and mode (the archive API works on stopped
containers too); ``remove_names`` deletes files (the archive API cannot)
with one ``rm`` exec.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerException, NotFound, describe)
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

SKIP_BUDGET = 16 * 1024 * 1024   # bytes of unnamed files one folder read may pass over
READ_SECONDS = 20.0              # and how long it may take, before named reads take over


class ArchiveError(CollectionError):
    """A container directory cannot be read or written; the message says why."""


@dataclass(frozen=True)
class Entry:
    """A top-level filesystem object of the directory (or what to write there).

    ``kind`` is ``file``, ``symlink`` or ``other`` (directories, devices...);
    ``data`` holds a file's bytes, ``linkname`` a symlink's target. A wanted
    file may come as its ``digest`` and ``length`` only (the controller sends
    bytes only for files that differ): then ``has_content`` is false.
    """

    name: str
    kind: str
    mode: int
    uid: int
    gid: int
    data: bytes = b""
    linkname: str = ""
    digest: str = ""
    length: int = -1

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return self.length if self.length >= 0 else len(self.data)

    @property
    def has_content(self) -> bool:
        return self.kind != "file" or self.length < 0 or len(self.data) == self.length

    def same_content(self, other: "Entry | None") -> bool:
        return (other is not None and self.kind == other.kind and self.linkname == other.linkname
                and self.size == other.size and self.sha256 == other.sha256)

    def same_metadata(self, other: "Entry | None") -> bool:
        return other is not None and (self.mode, self.uid, self.gid) == (other.mode, other.uid, other.gid)


@dataclass
class DirSnapshot:
    """What ``read_names`` saw: the folder's owner, the named entries that exist, the names of all
    top-level entries the folder read passed (when it completed), and how many requests it took."""

    path: str
    uid: int
    gid: int
    entries: dict[str, Entry]
    requests: int = 0
    listing: set[str] = field(default_factory=set)


class _OverBudget(Exception):
    """The folder stream passed its allowance of bytes or time."""


class _Reader(io.RawIOBase):
    """A readable file over a streamed HTTP response, with a byte allowance and a deadline."""

    def __init__(self, raw: Any, allowance: int, deadline: float) -> None:
        self._raw = raw
        self.allowance = allowance
        self.deadline = deadline
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if self.total > self.allowance or time.monotonic() > self.deadline:
            raise _OverBudget()
        try:
            data = self._raw.read(min(len(target), 1 << 16))
        except OSError:
            raise
        except Exception as exc:  # urllib3's read errors are no OSErrors: make them one, as requests does
            raise OSError(f"the engine's stream broke off: {type(exc).__name__}: {exc}") from None
        target[:len(data)] = data
        self.total += len(data)
        return len(data)


def _open(container: Any, path: str) -> Any:
    """The streamed archive response for ``path``, or None when it does not exist."""
    api = container.client.api
    try:
        response = api._get(api._url("/containers/{0}/archive", container.id), params={"path": path},
                            stream=True, headers={"Accept-Encoding": "identity"})
        api._raise_for_status(response)
    except NotFound:
        return None
    except DockerException as exc:
        raise ArchiveError(f"cannot read {path} in container {container.name}: {describe(exc)}") from None
    except OSError as exc:  # requests' connection errors, read timeouts, _Reader's stream errors
        raise ArchiveError(f"cannot read {path} in container {container.name}: {type(exc).__name__}: "
                           f"{exc}") from None
    return response


def _entry(name: str, member: tarfile.TarInfo, tar: tarfile.TarFile) -> Entry:
    if member.isreg():
        handle = tar.extractfile(member)
        data = handle.read() if handle else b""
        return Entry(name, "file", member.mode & 0o7777, member.uid, member.gid, data)
    if member.issym():
        return Entry(name, "symlink", member.mode & 0o7777, member.uid, member.gid, linkname=member.linkname)
    return Entry(name, "other", member.mode & 0o7777, member.uid, member.gid)


def _check_size(container: Any, dest: str, name: str, member: tarfile.TarInfo, max_size: int) -> None:
    if member.isreg() and member.size > max_size:
        raise ArchiveError(
            f"{posixpath.join(dest, name)} in container {container.name} is {member.size} bytes, more than "
            f"max_file_size ({max_size}): refusing to replace a file this module cannot keep a backup of; "
            "remove it by hand or raise max_file_size")


def _read_folder(container: Any, dest: str, names: set[str], max_size: int, budget: int,
                 seconds: float, snapshot: DirSnapshot) -> bool:
    """The named entries from one stream of the folder; False when the stream was cut short."""
    response = _open(container, dest)
    snapshot.requests += 1
    if response is None:
        raise ArchiveError(f"destination {dest} does not exist in container {container.name}: create it in the "
                           "image or choose the folder the server runs from")
    root = posixpath.basename(dest.rstrip("/"))
    reader = _Reader(response.raw, budget, time.monotonic() + seconds)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, 1 << 16), mode="r|") as tar:
            for member in tar:
                if member.name.rstrip("/") == root:
                    if not member.isdir():
                        raise ArchiveError(f"destination {dest} in container {container.name} is not a "
                                           "folder (a symlink or file): give the real folder path")
                    snapshot.uid, snapshot.gid = member.uid, member.gid
                    continue
                rel = member.name[len(root) + 1:] if member.name.startswith(root + "/") else member.name
                rel = rel.rstrip("/")
                if "/" in rel:
                    continue  # only top-level entries matter: the overlay is flat
                snapshot.listing.add(rel)
                if rel in names:
                    _check_size(container, dest, rel, member, max_size)
                    reader.allowance += member.size + 1024  # named bytes are never over budget
                    snapshot.entries[rel] = _entry(rel, member, tar)
    except _OverBudget:
        snapshot.listing = set()
        return False
    except tarfile.TarError as exc:
        raise ArchiveError(f"unreadable archive of {dest} from container {container.name}: {exc}") from None
    except OSError as exc:  # requests' connection errors, read timeouts, _Reader's stream errors
        raise ArchiveError(f"reading {dest} from container {container.name} failed: {type(exc).__name__}: "
                           f"{exc}") from None
    finally:
        response.close()  # at once: the engine holds the container's lock while it streams
    return True


def _read_one(container: Any, dest: str, name: str, max_size: int, snapshot: DirSnapshot) -> None:
    response = _open(container, posixpath.join(dest, name))
    snapshot.requests += 1
    if response is None:
        return
    reader = _Reader(response.raw, max_size + (1 << 20), time.monotonic() + READ_SECONDS)
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, 1 << 16), mode="r|") as tar:
            for member in tar:
                _check_size(container, dest, name, member, max_size)
                snapshot.entries[name] = _entry(name, member, tar)
                break
    except _OverBudget:
        raise ArchiveError(f"reading {posixpath.join(dest, name)} from container {container.name} took longer "
                           f"than {READ_SECONDS:g} s") from None
    except (tarfile.TarError, OSError) as exc:
        raise ArchiveError(f"reading {posixpath.join(dest, name)} from container {container.name} failed: "
                           f"{exc}") from None
    finally:
        response.close()


def read_names(container: Any, dest: str, names: Iterable[str], max_size: int, budget: int = SKIP_BUDGET,
               seconds: float = READ_SECONDS) -> DirSnapshot:
    """The named top-level entries of ``dest`` that exist, with the folder's owner."""
    wanted = set(names)
    snapshot = DirSnapshot(dest, 0, 0, {})
    if not _read_folder(container, dest, wanted, max_size, budget, seconds, snapshot):
        for name in sorted(wanted - set(snapshot.entries)):
            _read_one(container, dest, name, max_size, snapshot)
    return snapshot


def read_more(container: Any, snapshot: DirSnapshot, names: Iterable[str], max_size: int) -> None:
    """Add named entries the first read did not ask for (names a previous manifest lists)."""
    for name in sorted(set(names) - set(snapshot.entries)):
        if snapshot.listing and name not in snapshot.listing:
            continue  # the complete folder read saw it absent
        _read_one(container, snapshot.path, name, max_size, snapshot)


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
    except (DockerException, OSError) as exc:
        raise ArchiveError(f"writing into {dest} of container {container.name} failed: {describe(exc)}") from None


def remove_names(container: Any, dest: str, names: list[str]) -> None:
    """Delete top-level files of ``dest`` with one ``rm -f`` exec."""
    if not names:
        return
    paths = [posixpath.join(dest, name) for name in names]
    try:
        result = container.exec_run(["rm", "-f", "--", *paths], user="0")
    except (DockerException, OSError) as exc:
        raise ArchiveError(f"cannot remove {paths} in container {container.name}: {describe(exc)}") from None
    if result.exit_code != 0:
        output = (result.output or b"").decode("utf-8", "replace").strip()
        raise ArchiveError(f"rm {' '.join(paths)} failed in container {container.name}: {output}")
