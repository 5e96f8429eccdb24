# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One lock per audio host on the controller, so runs that send audio take turns.

Private to this collection. A GPU host races parallel decodes (cuFFT) and
answers 503, so a scheduled health run, a manual one and a reapply must not
send audio to the same host at once. ``host_lock(directory, host, timeout)``
holds ``<directory>/<host>.lock`` (``_state_files.locked``: an exclusive
``flock``, which blocks other processes and other open() calls in the same
process) for at most ``timeout`` seconds of waiting. The directory is made
sticky and world-writable, and lock files world-writable, so different users
(a timer's service user and a person) share the locks.
"""
from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import LockTimeout, StateFileError, locked

__all__ = ["LockTimeout", "default_lock_dir", "host_lock", "lock_path", "task_lock"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def default_lock_dir() -> str:
    base = "/var/lock" if os.path.isdir("/var/lock") else tempfile.gettempdir()
    return os.path.join(base, "spark_control_audio")


def lock_path(directory: str, host: str) -> str:
    name = _UNSAFE.sub("_", host).lstrip(".") or "_"
    return os.path.join(directory, f"{name}.lock")


def _prepare(directory: str) -> None:
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, 0o1777)
        except OSError as exc:
            raise StateFileError(f"cannot create the lock directory {directory}: {exc.strerror or exc}; "
                                 "set lock_dir to a directory every user running these playbooks can write") from None


@contextmanager
def task_lock(args: dict, task_vars: dict) -> Iterator[dict]:
    """The lock an action plugin holds around its module run, from the task's lock options (``args`` keeps
    them; they never reach the module); yields ``lock_wait`` and ``lock_file`` for the task's result."""
    directory = args.get("lock_dir") or default_lock_dir()
    key = args.get("lock_key") or task_vars.get("inventory_hostname") or "localhost"
    raw = args.get("lock_timeout", LOCK_ARGUMENT_SPEC["lock_timeout"]["default"])
    try:
        timeout = float(raw)
    except (TypeError, ValueError):
        raise StateFileError(f"lock_timeout={raw!r} is not a number of seconds") from None
    with host_lock(directory, key, timeout) as waited:
        yield {"lock_wait": round(waited, 3), "lock_file": lock_path(directory, key)}


@contextmanager
def host_lock(directory: str, host: str, timeout: float, **clock: Callable) -> Iterator[float]:
    """Hold the host's lock; yields the seconds spent waiting for it."""
    _prepare(directory)
    with locked(lock_path(directory, host), timeout, 0o666, f"the lock of audio host {host}",
                "another run is using this host: wait for it to finish or raise lock_timeout", **clock) as waited:
        yield waited
