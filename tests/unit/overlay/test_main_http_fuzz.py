"""HTTP fuzz of the transcription endpoint: whatever a client sends, the answer
is never a 5xx (a 503 for a busy server is not a fault: the fake engine never
makes the server busy here, so every 5xx is a bug).

Hypothesis drives the app in-process with the fake engine (fast), bounded in
examples and time; derandomized so that `make test` sees the same inputs
every run (a failure is then reproducible), and no example database is kept.
"""
from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import asr_formats
import asr_settings
import main
from fakes import FakeEngine

# Hypothesis keeps a cache of its own; under .cache/ (ignored by git and the collection build), not the repo root.
CACHE = Path(__file__).resolve().parents[3] / ".cache" / "hypothesis"
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(CACHE))
from hypothesis import HealthCheck, given, settings  # noqa: E402 - pinned in requirements/dev.txt
from hypothesis import strategies as st  # noqa: E402

BOUNDARY = "fuzzb0undary"
FUZZ = settings(max_examples=300, deadline=3000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient

    env = {"ASR_ENGINE": "cpu", "ASR_MAX_UPLOAD_MB": "0.25", "ASR_MAX_AUDIO_SECONDS": "5",
           "ASR_QUEUE_DEPTH": "4", "ASR_BODY_TIMEOUT_S": "5", "ASR_MAX_SOURCE_MSAMPLES": "0.5"}
    with TestClient(main.create_app(asr_settings.load(env), FakeEngine())) as c:
        for _unused in range(500):
            if c.get("/health/ready").status_code == 200:
                break
        yield c


def _wav(rate: int, channels: int, seconds: float, subtype: str, fmt: str) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, np.tile(tone[:, None], (1, channels)), rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@st.composite
def audio_like(draw) -> bytes:
    """Real audio of odd shapes, then possibly cut, bit-flipped or with a lying header."""
    fmt, subtype = draw(st.sampled_from([("WAV", "PCM_16"), ("WAV", "FLOAT"), ("FLAC", "PCM_16"),
                                         ("AIFF", "PCM_16"), ("OGG", "VORBIS")]))
    data = bytearray(_wav(draw(st.sampled_from([4000, 8000, 16000, 44100, 48000])),
                          draw(st.integers(1, 3)), draw(st.floats(0.0, 0.5)), subtype, fmt))
    how = draw(st.sampled_from(["as is", "cut", "flip", "header"]))
    if how == "cut" and data:
        data = data[:draw(st.integers(0, len(data)))]
    elif how == "flip" and data:
        for _unused in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= draw(st.integers(1, 255))
    elif how == "header" and fmt == "WAV" and len(data) >= 44:
        # fmt chunk: channels, sample rate, byte rate, block align, bits
        struct.pack_into("<HIIHH", data, 22, draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 2**32 - 1)),
                         draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 0xFFFF)),
                         draw(st.sampled_from([0, 8, 16, 24, 32, 64, 7])))
    return bytes(data)


def _part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


text_values = st.one_of(st.sampled_from(list(asr_formats.FORMATS) + ["true", "false", "word", "segment", "en",
                                                                     "*", ""]),
                        st.text(max_size=40))
fields = st.lists(st.tuples(st.sampled_from(["response_format", "diarize", "timestamp_granularities[]",
                                             "timestamp_granularities", "language", "model", "prompt", "file"]),
                            text_values), max_size=6)


@given(audio=st.one_of(audio_like(), st.binary(max_size=4096)), extra=fields,
       filename=st.one_of(st.none(), st.text(max_size=30).filter(lambda s: not set(s) & set('"\r\n'))))
@FUZZ
def test_multipart_forms_never_get_a_5xx(client, audio, extra, filename):
    body = b"".join(_part(name, value.encode()) for name, value in extra)
    body += _part("file", audio, "a.wav" if filename is None else filename)
    body += f"--{BOUNDARY}--\r\n".encode()
    reply = client.post("/v1/audio/transcriptions", content=body,
                        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert reply.status_code < 500, reply.text
    if reply.status_code >= 400:
        assert set(reply.json()["error"]) == {"message", "type", "code"}


@given(content_type=st.one_of(st.sampled_from(["multipart/form-data", f"multipart/form-data; boundary={BOUNDARY}",
                                               "multipart/form-data; boundary=", "multipart/form-data; boundary=\"",
                                               "application/json", "text/plain", ""]),
                              st.text(max_size=60).map(lambda s: "multipart/form-data; " + s)),
       body=st.one_of(st.binary(max_size=4096),
                      st.builds(lambda a, b: a + f"--{BOUNDARY}".encode() + b, st.binary(max_size=512),
                                st.binary(max_size=2048))))
@FUZZ
def test_raw_bodies_and_content_types_never_get_a_5xx(client, content_type, body):
    headers = {"content-type": content_type.encode("utf-8", "surrogatepass")}    # any bytes, as a client may send
    reply = client.post("/v1/audio/transcriptions", content=body, headers=headers)
    assert reply.status_code < 500, reply.text
