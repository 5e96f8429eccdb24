"""Container folder reads (one stream keeping the named entries, bounded fallback) and tar writes."""
from __future__ import annotations

import io
import tarfile

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import (
    ArchiveError, Entry, build_tar, read_more, read_names, remove_names, write_entries)

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import FakeContainer


def test_the_folder_is_one_request_keeping_only_the_named_entries():
    box = FakeContainer({"main.py": b"stock", "other.txt": b"x" * 10}, extra_dirs={"models": 100})
    snap = read_names(box, "/app", ["main.py", "absent.py"], max_size=1000)
    assert box.calls == ["get_archive /app"] and snap.requests == 1
    assert (snap.uid, snap.gid) == (1000, 1000)
    assert set(snap.entries) == {"main.py"}  # other files: not kept; sub-folder content: never
    assert snap.entries["main.py"].data == b"stock" and snap.listing == {"main.py", "other.txt"}
    assert box.open_streams == 0


def test_a_big_folder_is_cut_short_and_closed_then_read_by_name():
    # The unnamed data (300 kB) comes before the named files in the stream, past a 1000-byte budget.
    box = FakeContainer({"main.py": b"stock"}, extra_dirs={"models": 300_000})
    snap = read_names(box, "/app", ["main.py", "absent.py"], max_size=1000, budget=1000)
    assert box.calls == ["get_archive /app", "get_archive /app/absent.py", "get_archive /app/main.py"]
    assert snap.entries["main.py"].data == b"stock" and "absent.py" not in snap.entries
    assert snap.uid == 1000 and snap.listing == set()
    assert box.open_streams == 0  # every stream was closed: the engine locks the container while one is open


def test_named_files_over_the_size_cap_are_refused_before_their_bytes_are_read():
    box = FakeContainer({"main.py": b"x" * 2000})
    with pytest.raises(ArchiveError, match=r"main.py in container parakeet-asr is 2000 bytes, more than max_file_size"):
        read_names(box, "/app", ["main.py"], max_size=1000)
    assert box.open_streams == 0


def test_read_more_skips_names_the_complete_folder_read_saw_absent():
    box = FakeContainer({"main.py": b"stock", "old.py": b"gone soon"})
    snap = read_names(box, "/app", ["main.py"], max_size=1000)
    read_more(box, snap, ["old.py", "never.py"], max_size=1000)
    assert box.calls == ["get_archive /app", "get_archive /app/old.py"]
    assert snap.entries["old.py"].data == b"gone soon" and "never.py" not in snap.entries


def test_an_engine_that_goes_away_is_an_archive_error():
    box = FakeContainer({"main.py": b"stock"})
    box.engine_down = True
    with pytest.raises(ArchiveError, match="cannot read /app in container parakeet-asr"):
        read_names(box, "/app", ["main.py"], max_size=1000)


def test_read_missing_destination():
    box = FakeContainer(dest="/app")
    with pytest.raises(ArchiveError, match="/srv does not exist"):
        read_names(box, "/srv", [], max_size=1000)


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
    digest_only = Entry("a", "file", 0o644, 0, 0, digest=a.sha256, length=1)
    assert a.same_content(digest_only) and digest_only.same_content(a) and not digest_only.has_content
    assert not a.same_content(Entry("a", "file", 0o644, 0, 0, digest="0" * 64, length=1))
    assert not a.same_content(Entry("a", "file", 0o644, 0, 0, b"y"))
    assert not a.same_content(Entry("a", "symlink", 0o644, 0, 0, linkname="x"))
    assert not a.same_metadata(Entry("a", "file", 0o600, 0, 0, b"x"))
    assert not a.same_content(None)
