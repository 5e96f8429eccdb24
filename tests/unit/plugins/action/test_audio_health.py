"""The audio_health action plugin's controller-side inputs."""
from __future__ import annotations

import hashlib

from ansible_collections.spark_control.audio.plugins.action.audio_health import SHIPPED_OVERLAY, expected_overlay


def test_expected_overlay_is_the_shipped_overlay_as_speech_patch_copies_it(tmp_path):
    (tmp_path / "main.py").write_text("print('served')\n")
    (tmp_path / "diarizer.py").write_text("")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "stale.pyc").write_bytes(b"\0")
    (tmp_path / ".hidden").write_text("x")
    assert expected_overlay(str(tmp_path)) == {
        "diarizer.py": hashlib.sha256(b"").hexdigest(),
        "main.py": hashlib.sha256(b"print('served')\n").hexdigest(),
    }


def test_expected_overlay_of_the_collection_names_its_server():
    assert "main.py" in expected_overlay(SHIPPED_OVERLAY)
