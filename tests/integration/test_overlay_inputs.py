"""Bad input never reaches the model: every case gets a 4xx with a JSON error
that says what was wrong (real overlay container, cpu engine)."""
from __future__ import annotations

import io

import numpy as np
import pytest
import requests
import soundfile as sf

import overlay_support as support


@pytest.fixture(scope="module")
def overlay(request):
    return support.shared_overlay(request.config)


def _wav(seconds: float, rate: int = 16000, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(seconds * rate), dtype=np.float32), rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def _truncated() -> bytes:
    audio, _unused = support.speech("single_speaker")
    return audio[: len(audio) // 3]


CASES = {
    "empty": (lambda: b"", 400, "empty_file"),
    "not audio": (lambda: b"Meeting notes: nothing to hear here.\n" * 50, 400, "not_audio"),
    "truncated": (_truncated, 400, "truncated"),
    "unsupported m4a": (lambda: b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(4096), 415, "unsupported_format"),
    "over-size": (lambda: _wav(70), 413, "too_large"),                                   # 2.2 MB > 2 MB
    "over-long": (lambda: _wav(61, rate=8000, subtype="PCM_U8"), 413, "audio_too_long"),  # 61 s > 60 s, 0.5 MB
    "header only": (lambda: _wav(1)[:44], 400, "truncated"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_audio_gets_a_4xx_naming_the_problem(overlay, case):
    make, status, code = CASES[case]
    reply = overlay.transcribe(make())
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error"
    assert len(error["message"]) > 15 and "Traceback" not in reply.text


@pytest.mark.parametrize("form, code", [
    ({"response_format": "docx"}, "invalid_response_format"),
    ({"timestamp_granularities[]": "syllable"}, "invalid_timestamp_granularities"),
    ({"diarize": "sometimes"}, "invalid_field"),
    ({"language": "fr"}, "unsupported_language"),
])
def test_bad_fields_get_400(overlay, form, code):
    audio, _unused = support.speech("single_speaker")
    reply = overlay.transcribe(audio, **form)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == code, reply.text


def test_missing_file_and_wrong_body(overlay):
    reply = requests.post(overlay.url + "/v1/audio/transcriptions", data={"model": "x"}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["code"] in ("not_multipart", "missing_file")
    reply = requests.post(overlay.url + "/v1/audio/transcriptions", files={"audio": ("a.wav", _wav(1))}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "missing_file"
    reply = requests.post(overlay.url + "/v1/audio/transcriptions", json={"file": "speech.wav"}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "not_multipart"


def test_server_still_serves_after_bad_input(overlay):
    assert overlay.get("/health/ready").status_code == 200
    audio, _unused = support.speech("single_speaker")
    assert overlay.transcribe(audio).status_code == 200
