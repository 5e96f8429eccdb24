"""Backups of originals: recorded once, per image, atomically, safely in parallel."""
from __future__ import annotations

import threading

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.backups import BackupError, BackupStore
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import Entry

IMAGE = "sha256:" + "cd" * 32


def test_records_once_and_never_overwrites(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE, "/app")
    stock = Entry("main.py", "file", 0o640, 3, 4, b"stock")
    assert store.record({"main.py": stock, "new.py": None}, "box") == ["main.py", "new.py"]
    # A later run sees the overlay in the container: it must not become the "original".
    assert store.record({"main.py": Entry("main.py", "file", 0o644, 0, 0, b"patched")}, "box") == []
    assert store.original("main.py") == stock
    assert store.original("new.py") is None
    assert (tmp_path / ("sha256-" + "cd" * 32) / "originals" / "%2Fapp" / "main.py").read_bytes() == b"stock"


def test_backups_are_per_image(tmp_path):
    BackupStore(str(tmp_path), IMAGE, "/app").record({"main.py": Entry("main.py", "file", 0o644, 0, 0, b"v1")}, "box")
    other = BackupStore(str(tmp_path), "sha256:" + "ef" * 32, "/app")
    assert other.recorded() == {}
    with pytest.raises(BackupError, match="no original of /app/main.py"):
        other.original("main.py")


def test_symlinks_are_kept_as_links(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE, "/app")
    store.record({"main.py": Entry("main.py", "symlink", 0o777, 0, 0, linkname="/opt/server.py")}, "box")
    assert store.original("main.py").linkname == "/opt/server.py"


def test_refuses_folders_and_detects_corruption(tmp_path):
    store = BackupStore(str(tmp_path), IMAGE, "/app")
    with pytest.raises(BackupError, match="not a file or symlink"):
        store.record({"main.py": Entry("main.py", "other", 0o755, 0, 0)}, "box")
    store.record({"a.py": Entry("a.py", "file", 0o644, 0, 0, b"good")}, "box")
    (tmp_path / ("sha256-" + "cd" * 32) / "originals" / "%2Fapp" / "a.py").write_bytes(b"evil")
    with pytest.raises(BackupError, match="corrupted"):
        store.original("a.py")


def test_unwritable_backup_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BackupError, match="cannot create the backup folder .* set backup_dir"):
        BackupStore(str(blocker / "sub"), IMAGE, "/app").record({"a.py": None}, "box")


def test_bad_image_id_is_refused(tmp_path):
    with pytest.raises(BackupError, match="unexpected image id"):
        BackupStore(str(tmp_path), "../../etc", "/app")


def test_parallel_recorders_lose_nothing(tmp_path):
    def work(i: int) -> None:
        entry = Entry(f"f{i}.py", "file", 0o644, 0, 0, b"%d" % i)
        BackupStore(str(tmp_path), IMAGE, "/app").record({entry.name: entry}, "box")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = BackupStore(str(tmp_path), IMAGE, "/app")
    assert sorted(store.recorded()) == sorted(f"f{i}.py" for i in range(12))
    assert store.original("f7.py").data == b"7"


def test_each_folder_keeps_its_own_originals(tmp_path):
    app, plugins = BackupStore(str(tmp_path), IMAGE, "/app"), BackupStore(str(tmp_path), IMAGE, "/app/plugins/")
    app.record({"utils.py": Entry("utils.py", "file", 0o644, 0, 0, b"app utils")}, "box")
    assert plugins.recorded() == {}
    assert plugins.record({"utils.py": Entry("utils.py", "file", 0o644, 0, 0, b"plugin utils")}, "box") == ["utils.py"]
    assert app.original("utils.py").data == b"app utils" and plugins.original("utils.py").data == b"plugin utils"
    assert sorted(BackupStore(str(tmp_path), IMAGE, "/").recorded()) == []


def test_a_store_written_before_folders_were_keyed_is_read_as_app_s(tmp_path):
    """Older stores name files by bare name (bytes in files/<name>): they were /app's, and stay readable."""
    import hashlib
    import json

    folder = tmp_path / ("sha256-" + "cd" * 32)
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "main.py").write_bytes(b"stock")
    info = {"existed": True, "kind": "file", "mode": 0o640, "uid": 3, "gid": 4, "size": 5, "linkname": "",
            "sha256": hashlib.sha256(b"stock").hexdigest(), "recorded_at": "2025-05-01T00:00:00Z", "container": "box"}
    (folder / "index.json").write_text(json.dumps({"image_id": IMAGE, "files": {"main.py": info,
                                                                                "new.py": {"existed": False}}}))
    app = BackupStore(str(tmp_path), IMAGE, "/app")
    assert sorted(app.recorded()) == ["main.py", "new.py"] and app.original("main.py").data == b"stock"
    assert BackupStore(str(tmp_path), IMAGE, "/app/plugins").recorded() == {}
    # A later record keeps them (a recorded original is never replaced) and moves their keys to paths.
    assert app.record({"main.py": Entry("main.py", "file", 0o644, 0, 0, b"patched"), "x.py": None}, "box") == ["x.py"]
    keys = sorted(json.loads((folder / "index.json").read_text())["files"])
    assert keys == ["/app/main.py", "/app/new.py", "/app/x.py"]
    stock = Entry("main.py", "file", 0o640, 3, 4, b"stock")
    assert BackupStore(str(tmp_path), IMAGE, "/app").original("main.py") == stock
