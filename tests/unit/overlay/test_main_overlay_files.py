"""OVERLAY_FILES names exactly the overlay folder, and /overlay hashes it."""
from __future__ import annotations

import hashlib

import main
from conftest import PATCHES


def test_overlay_files_equal_folder_content():
    on_disk = {p.name for p in PATCHES.iterdir() if p.is_file() and p.suffix != ".pyc"}
    assert set(main.OVERLAY_FILES) == on_disk
    assert len(main.OVERLAY_FILES) == len(set(main.OVERLAY_FILES))


def test_hashes_are_sha256_of_each_file():
    hashes = main.overlay_hashes()
    assert set(hashes) == set(main.OVERLAY_FILES)
    for name, digest in hashes.items():
        assert digest == hashlib.sha256((PATCHES / name).read_bytes()).hexdigest(), name


def test_missing_file_hashes_to_none(tmp_path):
    (tmp_path / "main.py").write_text("x")
    hashes = main.overlay_hashes(tmp_path)
    assert hashes["main.py"] == hashlib.sha256(b"x").hexdigest()
    assert hashes["diarizer.py"] is None


def test_version_is_set():
    assert isinstance(main.OVERLAY_VERSION, str) and main.OVERLAY_VERSION.count(".") == 2


def test_warmup_clip_is_short_16k_mono_speech():
    import soundfile as sf

    info = sf.info(str(PATCHES / "warmup.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert 2.0 <= info.duration <= 4.0
    samples, _unused = sf.read(str(PATCHES / "warmup.wav"), dtype="float32")
    assert float((samples ** 2).mean()) ** 0.5 > 0.02     # not silence
