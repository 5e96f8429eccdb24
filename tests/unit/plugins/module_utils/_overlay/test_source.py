"""Overlay source loading: flat folders, file lists, names, transfer form."""
from __future__ import annotations

import builtins
import os

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    MANIFEST_NAME, OverlayFile, OverlaySourceError, check_name, content_version, from_wire, load_dir, load_list,
    normalize_entries, to_wire)


@pytest.fixture
def overlay(tmp_path):
    (tmp_path / "main.py").write_text("print('patched')\n")
    (tmp_path / "diarizer.py").write_text("MAX_SPEAKERS = 4\n")
    (tmp_path / "warmup.wav").write_bytes(b"RIFF\0\0\0\0WAVEdata\0\x01\x02")
    os.chmod(tmp_path / "diarizer.py", 0o600)
    return tmp_path


def test_load_dir_reads_flat_files_sorted_with_modes(overlay):
    files = load_dir(str(overlay))
    assert [f.name for f in files] == ["diarizer.py", "main.py", "warmup.wav"]
    assert files[0].mode == 0o600
    assert files[2].data.startswith(b"RIFF")


def test_load_dir_skips_caches_and_hidden_files(overlay):
    (overlay / "__pycache__").mkdir()
    (overlay / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (overlay / "stray.pyc").write_bytes(b"\0")
    (overlay / ".DS_Store").write_bytes(b"\0")
    assert [f.name for f in load_dir(str(overlay))] == ["diarizer.py", "main.py", "warmup.wav"]


def test_load_dir_refuses_sub_folders(overlay):
    (overlay / "models").mkdir()
    with pytest.raises(OverlaySourceError, match="must be flat, but holds the folder models"):
        load_dir(str(overlay))


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "does not exist"),
    (lambda p: p, "holds no files"),
])
def test_load_dir_missing_or_empty(tmp_path, make, message):
    with pytest.raises(OverlaySourceError, match=message):
        load_dir(str(make(tmp_path)))


def test_load_dir_on_a_file_points_to_files_option(overlay):
    with pytest.raises(OverlaySourceError, match="not a folder"):
        load_dir(str(overlay / "main.py"))


def test_unreadable_file_is_named(overlay, monkeypatch):
    real_open = builtins.open

    def guarded(path, *args, **kwargs):
        if str(path).endswith("main.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    with pytest.raises(OverlaySourceError, match=r"cannot read overlay file .*main.py: Permission denied"):
        load_dir(str(overlay))


def test_dangling_symlink_is_reported(overlay):
    (overlay / "gone.py").symlink_to(overlay / "missing.py")
    with pytest.raises(OverlaySourceError, match="gone.py does not exist"):
        load_dir(str(overlay))


@pytest.mark.parametrize("name", ["../etc/passwd", "sub/main.py", "..", ".", "", "a\\b", MANIFEST_NAME])
def test_check_name_refuses_traversal_and_reserved(name):
    with pytest.raises(OverlaySourceError):
        check_name(name)


def test_load_list_with_renames_and_duplicates(overlay):
    files = load_list([str(overlay / "main.py"), {"src": str(overlay / "diarizer.py"), "name": "diarizer_v2.py"}])
    assert [f.name for f in files] == ["main.py", "diarizer_v2.py"]
    with pytest.raises(OverlaySourceError, match="would both write main.py"):
        load_list([str(overlay / "main.py"), {"src": str(overlay / "diarizer.py"), "name": "main.py"}])
    with pytest.raises(OverlaySourceError, match="path separator"):
        load_list([{"src": str(overlay / "main.py"), "name": "../main.py"}])
    with pytest.raises(OverlaySourceError, match="is empty"):
        load_list([])
    with pytest.raises(OverlaySourceError, match="unknown keys"):
        normalize_entries([{"src": "x", "dest": "/etc"}])


def test_wire_round_trip_keeps_bytes_and_detects_corruption(overlay):
    files = load_dir(str(overlay))
    wire = to_wire(files)
    assert from_wire(wire) == files
    wire[0]["sha256"] = "0" * 64
    with pytest.raises(OverlaySourceError, match="corrupted in transfer"):
        from_wire(wire)


def test_content_version_follows_names_and_bytes():
    a = [OverlayFile("main.py", b"x", 0o644)]
    assert content_version(a) == content_version([OverlayFile("main.py", b"x", 0o600)])
    assert content_version(a) != content_version([OverlayFile("main.py", b"y", 0o644)])
    assert content_version(a) != content_version([OverlayFile("other.py", b"x", 0o644)])
