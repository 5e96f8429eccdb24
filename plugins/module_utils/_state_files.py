# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""State files on the host: exclusive locks, atomic writes, UTC timestamps.

Private to this collection. Everything the collection keeps on a host (the
overlay backups, the package manifests, the per-host health locks on the
controller, the overlay manifest in the container) goes through these three
pieces, so every state file is written the same way:

* ``locked(path, timeout=None)`` holds an exclusive ``flock`` on ``path``
  (blocking, or for at most ``timeout`` seconds) and yields the seconds it
  waited; the holder's pid and start time are written into the lock file so
  a waiter's message can name it;
* ``atomic_write(path, data, mode)`` writes a temporary file in the same
  folder, fsyncs it and renames it over ``path``: readers see the old or the
  new bytes, never a torn file;
* ``utc_timestamp()`` is the one timestamp format: ``2025-06-01T10:00:00Z``.
"""
from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

POLL = 0.2


class StateFileError(CollectionError):
    """A state file or its lock cannot be used; the message says which and why."""


class LockTimeout(StateFileError):
    """The lock stayed taken for the whole wait; the message names the holder."""


def utc_timestamp(when: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if when is None else when))


def _holder(handle) -> str:
    try:
        handle.seek(0)
        return handle.read().strip() or "unknown process"
    except OSError:
        return "unknown process"


@contextmanager
def locked(path: str, timeout: float | None = None, mode: int = 0o600, what: str = "the lock", hint: str = "",
           *, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> Iterator[float]:
    """Hold an exclusive flock on ``path``; yields the seconds spent waiting.

    ``timeout=None`` waits as long as it takes. ``mode`` is applied to a new
    lock file (a shared lock between users needs 0o666). ``what`` names the
    lock in the timeout message, ``hint`` says what to do about it.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, mode)
    except OSError as exc:
        raise StateFileError(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, mode)
    except OSError:
        pass  # owned by another user, who already made it shareable
    handle = os.fdopen(fd, "r+")
    start = clock()
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if timeout is not None else 0))
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise StateFileError(f"cannot lock {path}: {exc.strerror or exc}") from None
                if clock() - start >= timeout:
                    raise LockTimeout(f"{what} ({path}) is held by {_holder(handle)} and stayed taken for "
                                      f"{timeout:g} s" + (f": {hint}" if hint else "")) from None
                sleep(POLL)
        waited = clock() - start
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {utc_timestamp()}\n")
        handle.flush()
        yield waited
    finally:
        handle.close()  # closing releases the flock


def atomic_write(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename; the folder must exist."""
    folder = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    # The rename is durable only once the folder's entry is on disk too (a journal must survive a power cut).
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)
    finally:
        os.close(folder_fd)
