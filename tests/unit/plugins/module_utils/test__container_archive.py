"""Container folder reads (one stream, fallback) and tar writes."""
from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import (
    ArchiveError, Entry, build_tar, read_dir, remove_names, write_entries)

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import FakeContainer


def test_read_dir_is_one_request_with_owner_and_entries():
    box = FakeContainer({"main.py": b"stock", "other.txt": b"x" * 10}, extra_dirs={"models": 100})
    snap = read_dir(box, "/app", ["main.py"])
    assert box.calls == ["get_archive /app"]
    assert snap.round_trips == 1
    assert (snap.uid, snap.gid) == (1000, 1000)
    assert set(snap.entries) == {"main.py", "other.txt"}  # sub-folder content is not kept
    assert snap.entries["main.py"].data == b"stock"


def test_read_dir_falls_back_to_named_reads_for_big_folders():
    box = FakeContainer({"main.py": b"stock"}, extra_dirs={"models": 5000})
    snap = read_dir(box, "/app", ["main.py", "absent.py"], scan_limit=1000)
    assert box.calls == ["get_archive /app", "get_archive /app/.", "get_archive /app/main.py",
                         "get_archive /app/absent.py"]
    assert snap.entries["main.py"].data == b"stock" and "absent.py" not in snap.entries
    assert snap.uid == 1000


def test_read_dir_missing_destination():
    box = FakeContainer(dest="/app")
    with pytest.raises(ArchiveError, match="/srv does not exist"):
        read_dir(box, "/srv", [])


def test_build_tar_carries_owner_mode_and_symlinks():
    data = build_tar([Entry("a.py", "file", 0o755, 42, 43, b"hello"),
                      Entry("b.py", "symlink", 0o777, 0, 0, linkname="a.py")], mtime=1)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        a, b = tar.getmembers()
        assert (a.name, a.uid, a.gid, a.mode, a.size) == ("a.py", 42, 43, 0o755, 5)
        assert tar.extractfile(a).read() == b"hello"
        assert b.issym() and b.linkname == "a.py"
    with pytest.raises(ArchiveError, match="only files and symlinks"):
        build_tar([Entry("d", "other", 0o755, 0, 0)])


def test_write_and_remove_are_one_request_each():
    box = FakeContainer({"old.py": b"1"})
    write_entries(box, "/app", [Entry("a.py", "file", 0o644, 0, 0, b"A"), Entry("b.py", "file", 0o600, 7, 7, b"B")])
    remove_names(box, "/app", ["old.py"])
    assert box.calls == ["put_archive /app", "exec rm -f -- /app/old.py"]
    assert box.files["b.py"]["uid"] == 7 and box.files["b.py"]["mode"] == 0o600
    assert "old.py" not in box.files
    write_entries(box, "/app", [])
    remove_names(box, "/app", [])
    assert len(box.calls) == 2


def test_entry_comparisons():
    a = Entry("a", "file", 0o644, 0, 0, b"x")
    assert a.same_content(Entry("a", "file", 0o600, 1, 1, b"x"))
    assert not a.same_content(Entry("a", "file", 0o644, 0, 0, b"y"))
    assert not a.same_content(Entry("a", "symlink", 0o644, 0, 0, linkname="x"))
    assert not a.same_metadata(Entry("a", "file", 0o600, 0, 0, b"x"))
    assert not a.same_content(None)
