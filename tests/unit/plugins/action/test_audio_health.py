"""The audio_health action plugin's controller side: the shipped overlay it compares the live one with."""
from __future__ import annotations

import hashlib

from ansible_collections.spark_control.audio.plugins.action.audio_health import SHIPPED_OVERLAY, expected_overlay


def test_the_expected_overlay_is_every_shipped_file_by_digest():
    expected = expected_overlay(SHIPPED_OVERLAY)
    assert "main.py" in expected and "warmup.wav" in expected
    with open(f"{SHIPPED_OVERLAY}/main.py", "rb") as handle:
        assert expected["main.py"] == hashlib.sha256(handle.read()).hexdigest()
    assert not any(name.endswith(".pyc") or name.startswith(".") for name in expected)
