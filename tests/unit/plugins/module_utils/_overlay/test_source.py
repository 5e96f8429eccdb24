"""Overlay source loading: flat folders, file lists, names, transfer form."""
from __future__ import annotations

import builtins
import os

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    DEFAULT_EXCLUDES, MANIFEST_NAME, OverlayFile, OverlaySourceError, check_name, content_version, from_wire,
    load_dir, load_list, normalize_entries, to_wire)

CAP = 1024 * 1024


def load(path, exclude=DEFAULT_EXCLUDES, max_size=CAP):
    return load_dir(str(path), exclude, max_size)


@pytest.fixture
def overlay(tmp_path):
    (tmp_path / "main.py").write_text("print('patched')\n")
    (tmp_path / "diarizer.py").write_text("MAX_SPEAKERS = 4\n")
    (tmp_path / "warmup.wav").write_bytes(b"RIFF\0\0\0\0WAVEdata\0\x01\x02")
    os.chmod(tmp_path / "diarizer.py", 0o600)
    return tmp_path


def test_load_dir_reads_flat_files_sorted_with_modes(overlay):
    files = load(overlay)
    assert [f.name for f in files] == ["diarizer.py", "main.py", "warmup.wav"]
    assert files[0].mode == 0o600
    assert files[2].data.startswith(b"RIFF")


def test_load_dir_skips_caches_and_hidden_files(overlay):
    (overlay / "__pycache__").mkdir()
    (overlay / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (overlay / "stray.pyc").write_bytes(b"\0")
    (overlay / ".DS_Store").write_bytes(b"\0")
    assert [f.name for f in load(overlay)] == ["diarizer.py", "main.py", "warmup.wav"]


def test_load_dir_refuses_sub_folders(overlay):
    (overlay / "models").mkdir()
    with pytest.raises(OverlaySourceError, match="must be flat, but holds the folder models"):
        load(overlay)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "does not exist"),
    (lambda p: p, "holds no files"),
])
def test_load_dir_missing_or_empty(tmp_path, make, message):
    with pytest.raises(OverlaySourceError, match=message):
        load(make(tmp_path))


def test_load_dir_on_a_file_points_to_files_option(overlay):
    with pytest.raises(OverlaySourceError, match="not a folder"):
        load(overlay / "main.py")


def test_unreadable_file_is_named(overlay, monkeypatch):
    real_open = builtins.open

    def guarded(path, *args, **kwargs):
        if str(path).endswith("main.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    with pytest.raises(OverlaySourceError, match=r"cannot read overlay file .*main.py: Permission denied"):
        load(overlay)


def test_dangling_symlink_is_reported(overlay):
    (overlay / "gone.py").symlink_to(overlay / "missing.py")
    with pytest.raises(OverlaySourceError, match="gone.py does not exist"):
        load(overlay)


@pytest.mark.parametrize("name", ["../etc/passwd", "sub/main.py", "..", ".", "", "a\\b", MANIFEST_NAME])
def test_check_name_refuses_traversal_and_reserved(name):
    with pytest.raises(OverlaySourceError):
        check_name(name)


def test_load_list_with_renames_and_duplicates(overlay):
    files = load_list([str(overlay / "main.py"), {"src": str(overlay / "diarizer.py"), "name": "diarizer_v2.py"}], CAP)
    assert [f.name for f in files] == ["main.py", "diarizer_v2.py"]
    with pytest.raises(OverlaySourceError, match="would both write main.py"):
        load_list([str(overlay / "main.py"), {"src": str(overlay / "diarizer.py"), "name": "main.py"}], CAP)
    with pytest.raises(OverlaySourceError, match="path separator"):
        load_list([{"src": str(overlay / "main.py"), "name": "../main.py"}], CAP)
    with pytest.raises(OverlaySourceError, match="is empty"):
        load_list([], CAP)
    with pytest.raises(OverlaySourceError, match="unknown keys"):
        normalize_entries([{"src": "x", "dest": "/etc"}])


def test_wire_round_trip_keeps_bytes_and_detects_corruption(overlay):
    files = load(overlay)
    wire = to_wire(files, [f.name for f in files])
    assert from_wire(wire) == files
    wire[0]["sha256"] = "0" * 64
    with pytest.raises(OverlaySourceError, match="corrupted in transfer"):
        from_wire(wire)


def test_digests_travel_first_and_bytes_only_for_the_files_asked_for(overlay):
    files = load(overlay)
    wire = to_wire(files, ["main.py"])
    assert [("content" in item) for item in wire] == [False, True, False]
    back = {f.name: f for f in from_wire(wire)}
    assert back["main.py"].data == (overlay / "main.py").read_bytes()
    assert back["warmup.wav"].data is None and back["warmup.wav"].sha256 == files[2].sha256
    assert back["warmup.wav"].size == files[2].size
    with pytest.raises(OverlaySourceError, match="malformed _overlay entry"):
        from_wire([{"name": "main.py"}])


def test_an_empty_exclude_list_leaves_nothing_out(overlay):
    (overlay / ".env").write_text("X=1\n")
    assert ".env" in [f.name for f in load(overlay, exclude=[])]
    assert ".env" not in [f.name for f in load(overlay)]


def test_symlinks_out_of_the_overlay_folder_are_refused_with_the_link_named(overlay, tmp_path_factory):
    secret = tmp_path_factory.mktemp("elsewhere") / "id_rsa"
    secret.write_text("PRIVATE\n")
    os.chmod(secret, 0o600)
    (overlay / "helper.py").symlink_to(secret)
    with pytest.raises(OverlaySourceError, match=r"helper.py in .* is a symlink to .*id_rsa, outside the overlay"):
        load(overlay)


def test_symlinks_inside_the_overlay_folder_are_read_as_the_file(overlay):
    (overlay / "alias.py").symlink_to(overlay / "main.py")
    files = {f.name: f for f in load(overlay)}
    assert files["alias.py"].data == files["main.py"].data


def test_files_over_the_size_cap_are_refused_before_they_are_read(overlay):
    (overlay / "model.bin").write_bytes(b"\0" * 5000)
    with pytest.raises(OverlaySourceError, match=r"model.bin is 5000 bytes, more than max_file_size \(4096\)"):
        load(overlay, max_size=4096)


def test_content_version_follows_names_and_bytes():
    a = [OverlayFile.of("main.py", b"x", 0o644)]
    assert content_version(a) == content_version([OverlayFile.of("main.py", b"x", 0o600)])
    assert content_version(a) != content_version([OverlayFile.of("main.py", b"y", 0o644)])
    assert content_version(a) != content_version([OverlayFile.of("other.py", b"x", 0o644)])
