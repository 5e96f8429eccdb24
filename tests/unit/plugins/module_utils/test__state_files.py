"""State files on the audio host: atomic, durable writes."""
from __future__ import annotations

import os
import stat

from ansible_collections.spark_control.audio.plugins.module_utils import _state_files


def test_an_atomic_write_replaces_the_file_and_syncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(_state_files.os, "fsync", fsync)
    target = tmp_path / "journal.json"
    target.write_text("old")
    _state_files.atomic_write(str(target), b"new", 0o600)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o600
    # The data first, then the folder entry the rename changed: without both a power cut can lose the write.
    assert synced == [False, True]
    assert [p.name for p in tmp_path.iterdir()] == ["journal.json"]  # no temporary file left behind
