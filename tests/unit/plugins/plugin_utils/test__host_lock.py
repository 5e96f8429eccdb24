"""The per-host controller lock: concurrent holders take turns; waits are bounded."""
from __future__ import annotations

import multiprocessing
import os
import stat
import time

import pytest

from ansible_collections.spark_control.audio.plugins.plugin_utils._host_lock import LockTimeout, host_lock, lock_path


def _hold(directory, host, seconds, log):
    with host_lock(directory, host, timeout=30):
        log.put(("start", time.monotonic()))
        time.sleep(seconds)
        log.put(("end", time.monotonic()))


def test_two_processes_on_one_host_do_not_overlap(tmp_path):
    log = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_hold, args=(str(tmp_path), "spark2", 0.4, log)) for _unused in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(20)
    events = sorted((log.get(timeout=5) for _unused in range(4)), key=lambda e: e[1])
    assert [kind for kind, _unused in events] == ["start", "end", "start", "end"]


def test_different_hosts_do_not_wait(tmp_path):
    with host_lock(str(tmp_path), "spark2", timeout=1):
        with host_lock(str(tmp_path), "spark3", timeout=1) as waited:
            assert waited < 1


def test_wait_is_bounded_and_names_the_holder(tmp_path):
    with host_lock(str(tmp_path), "spark2", timeout=1):
        with pytest.raises(LockTimeout) as info:
            with host_lock(str(tmp_path), "spark2", timeout=0.3):
                pass
    assert f"pid {os.getpid()}" in str(info.value)
    assert "lock_timeout" in str(info.value)


def test_lock_is_released_after_an_error(tmp_path):
    with pytest.raises(RuntimeError):
        with host_lock(str(tmp_path), "spark2", timeout=1):
            raise RuntimeError("probe blew up")
    with host_lock(str(tmp_path), "spark2", timeout=0.2) as waited:
        assert waited < 0.2


def test_lock_files_are_shareable_between_users(tmp_path):
    directory = tmp_path / "locks"
    with host_lock(str(directory), "../etc/passwd", timeout=1):
        pass
    path = lock_path(str(directory), "../etc/passwd")
    assert os.path.dirname(path) == str(directory)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o1777
