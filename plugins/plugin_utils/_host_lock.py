# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One lock per audio host on the controller, so health runs take turns.

Private to this collection. A GPU host races parallel decodes (cuFFT) and
answers 503, so a scheduled run and a manual one must not send audio to the
same host at once. ``host_lock(directory, host, timeout)`` holds an exclusive
``flock`` on ``<directory>/<host>.lock`` (it blocks other processes and
other open() calls in the same process) and waits for it at most
``timeout`` seconds. The directory is made sticky and world-writable, and
lock files world-writable, so different users (a timer's service user and a
person) share the locks.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from contextlib import contextmanager
from typing import Callable, Iterator

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
POLL = 0.2


class LockTimeout(Exception):
    """The lock stayed taken for the whole wait; the message names the holder."""


def lock_path(directory: str, host: str) -> str:
    name = _UNSAFE.sub("_", host).lstrip(".") or "_"
    return os.path.join(directory, f"{name}.lock")


def _prepare(directory: str) -> None:
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o1777)
        except OSError as exc:
            raise LockTimeout(f"cannot create the lock directory {directory}: {exc.strerror or exc}; "
                              "set lock_dir to a directory every user running health checks can write") from None


def _holder(handle) -> str:
    try:
        handle.seek(0)
        return handle.read().strip() or "unknown process"
    except OSError:
        return "unknown process"


@contextmanager
def host_lock(directory: str, host: str, timeout: float, *, sleep: Callable[[float], None] = time.sleep,
              clock: Callable[[], float] = time.monotonic) -> Iterator[float]:
    """Hold the host's lock; yields the seconds spent waiting for it."""
    _prepare(directory)
    path = lock_path(directory, host)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise LockTimeout(f"cannot open the lock file {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666)
    except OSError:
        pass  # owned by another user, who already made it shareable
    handle = os.fdopen(fd, "r+")
    start = clock()
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if clock() - start >= timeout:
                    raise LockTimeout(f"another health run holds {path} ({_holder(handle)}) and kept it for "
                                      f"{timeout:g} s: wait for it to finish or raise lock_timeout") from None
                sleep(POLL)
        waited = clock() - start
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        handle.flush()
        yield waited
    finally:
        handle.close()  # closing releases the flock
