"""Backups of originals: recorded once, per image, atomically, safely in parallel."""
from __future__ import annotations

import threading

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.backups import BackupError, BackupStore
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import Entry

IMAGE = "sha256:" + "cd" * 32


def test_records_once_and_never_overwrites(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE)
    stock = Entry("main.py", "file", 0o640, 3, 4, b"stock")
    assert store.record({"main.py": stock, "new.py": None}, "box") == ["main.py", "new.py"]
    # A later run sees the overlay in the container: it must not become the "original".
    assert store.record({"main.py": Entry("main.py", "file", 0o644, 0, 0, b"patched")}, "box") == []
    assert store.original("main.py") == stock
    assert store.original("new.py") is None
    assert (tmp_path / ("sha256-" + "cd" * 32) / "files" / "main.py").read_bytes() == b"stock"


def test_backups_are_per_image(tmp_path):
    BackupStore(str(tmp_path), IMAGE).record({"main.py": Entry("main.py", "file", 0o644, 0, 0, b"v1")}, "box")
    other = BackupStore(str(tmp_path), "sha256:" + "ef" * 32)
    assert other.recorded() == {}
    with pytest.raises(BackupError, match="no original of main.py"):
        other.original("main.py")


def test_symlinks_are_kept_as_links(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE)
    store.record({"main.py": Entry("main.py", "symlink", 0o777, 0, 0, linkname="/opt/server.py")}, "box")
    assert store.original("main.py").linkname == "/opt/server.py"


def test_refuses_folders_and_detects_corruption(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE)
    with pytest.raises(BackupError, match="not a file or symlink"):
        store.record({"main.py": Entry("main.py", "other", 0o755, 0, 0)}, "box")
    store.record({"a.py": Entry("a.py", "file", 0o644, 0, 0, b"good")}, "box")
    (tmp_path / ("sha256-" + "cd" * 32) / "files" / "a.py").write_bytes(b"evil")
    with pytest.raises(BackupError, match="corrupted"):
        store.original("a.py")


def test_unwritable_backup_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BackupError, match="cannot create the backup folder .* set backup_dir"):
        BackupStore(str(blocker / "sub"), IMAGE).record({"a.py": None}, "box")


def test_bad_image_id_is_refused(tmp_path):
    with pytest.raises(BackupError, match="unexpected image id"):
        BackupStore(str(tmp_path), "../../etc")


def test_parallel_recorders_lose_nothing(tmp_path):
    def work(i: int) -> None:
        BackupStore(str(tmp_path), IMAGE).record({f"f{i}.py": Entry(f"f{i}.py", "file", 0o644, 0, 0, b"%d" % i)}, "box")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = BackupStore(str(tmp_path), IMAGE)
    assert sorted(store.recorded()) == sorted(f"f{i}.py" for i in range(12))
    assert store.original("f7.py").data == b"7"
