"""The HTTP surface of the overlay, in-process with a fake engine."""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

import asr_settings
import main
from asr_types import Diarization
from conftest import AUDIO, wav_bytes
from asr_worker import Busy
from fakes import FakeEngine


def _wait_ready(client, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/health/ready").status_code == 200:
            return
        time.sleep(0.01)
    raise AssertionError(client.get("/health/ready").json())


@pytest.fixture
def env(tmp_path):
    return {"ASR_ENGINE": "cpu", "ASR_QUEUE_DEPTH": "1",
            "ASR_MAX_UPLOAD_MB": "0.5", "ASR_MAX_AUDIO_SECONDS": "5", "STT_MODEL_ID": "parakeet-tdt-0.6b-v2"}


@pytest.fixture
def engine():
    return FakeEngine()


@pytest.fixture
def client(env, engine):
    app = main.create_app(asr_settings.load(env), engine)
    with TestClient(app) as c:
        _wait_ready(c)
        yield c


@pytest.fixture
def speech(tone):
    return wav_bytes(tone)


@pytest.fixture
def flac_speech(tone):
    """The same audio as FLAC: decoded in a thread holding a decode slot (a
    short 16 kHz PCM WAV is decoded on the event loop, without one)."""
    return wav_bytes(tone, fmt="FLAC")


def post(client, data=None, filename="a.wav", **form):
    files = {"file": (filename, data, "audio/wav")} if data is not None else None
    return client.post("/v1/audio/transcriptions", files=files, data=form)


def test_readiness_follows_load_and_warm_up(env, engine):
    app = main.create_app(asr_settings.load(env), engine, boot=False)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        r = c.get("/health/ready")
        assert r.status_code == 503 and r.json()["phase"] == "loading"
        busy = post(c, wav_bytes(np.ones(1600, np.float32) * 0.1))
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    app = main.create_app(asr_settings.load(env), engine)
    with TestClient(app) as c:
        _wait_ready(c)
        body = c.get("/health/ready").json()
        assert body["ready"] is True and "warm-up transcript" in body["detail"]
    assert engine.calls[:3] == ["load", "transcribe", "diarize"]     # warm-up decodes real speech


def test_warm_up_that_yields_no_text_keeps_the_server_unready(env, engine):
    engine.transcribe = lambda samples, words=False: main.Transcript("")
    env["ASR_WARMUP_RETRY_S"] = "0.1"
    app = main.create_app(asr_settings.load(env), engine)
    with TestClient(app) as c:
        time.sleep(0.3)
        r = c.get("/health/ready")
        assert r.status_code == 503 and "empty transcript" in r.json()["detail"]


def test_models_and_overlay(client):
    assert client.get("/v1/models").json()["data"][0]["id"] == "parakeet-tdt-0.6b-v2"
    overlay = client.get("/overlay").json()
    assert overlay["version"] == main.OVERLAY_VERSION
    assert overlay["files"] == main.overlay_hashes()


def test_transcription_json_and_request_log(client, speech, caplog):
    with caplog.at_level(logging.INFO, logger="parakeet.requests"):
        r = post(client, speech, language="en", model="whisper-1")
    assert r.status_code == 200 and r.json() == {"text": "hello there general kenobi"}
    assert r.headers["X-Request-Id"] and "decode;dur=" in r.headers["Server-Timing"]
    line = json.loads([rec.getMessage() for rec in caplog.records if rec.name == "parakeet.requests"][-1])
    assert line["id"] == r.headers["X-Request-Id"] and line["audio_s"] == 1.0 and line["status"] == 200
    assert line["outcome"] == "ok" and line["queue_wait_ms"] >= 0 and line["decode_ms"] >= 0
    assert line["end"] == pytest.approx(line["start"] + line["total_ms"] / 1000, abs=0.002)


def test_diarized_answer_shape(client, speech):
    body = post(client, speech, diarize="true", response_format="verbose_json").json()
    assert body["speakers"] == 2 and body["speaker_limit_reached"] is False
    turns = [(s["speaker"], s["text"]) for s in body["segments"]]
    assert turns == [("speaker_0", "hello there"), ("speaker_1", "general kenobi")]
    plain = post(client, speech, diarize="true").json()
    assert plain["speakers"] == 2 and plain["segments"][0]["speaker"] == "speaker_0"


def test_words_granularity(client, speech):
    body = post(client, speech, response_format="verbose_json", **{"timestamp_granularities[]": "word"}).json()
    assert [w["word"] for w in body["words"]] == ["hello", "there", "general", "kenobi"]


def test_silence_is_an_empty_transcript(client, engine):
    silence = wav_bytes(np.zeros(16000, np.float32))
    assert post(client, silence).json() == {"text": ""}
    body = post(client, silence, diarize="true").json()
    assert body == {"text": "", "segments": [], "speakers": 0, "speaker_limit_reached": False}
    assert engine.calls[-1] == "transcribe"            # no diarization of silence


def test_speech_the_diarizer_finds_no_turn_in_keeps_its_words(env, engine):
    """Real speech transcribed, no speaker turn (short or quiet speech): subtitles and segments keep the
    transcript, without a speaker, instead of coming back empty."""
    speech = (AUDIO / "single_speaker.wav").read_bytes()
    engine.diarize = lambda samples: Diarization([])
    app = main.create_app(asr_settings.load(env | {"ASR_MAX_AUDIO_SECONDS": "30", "ASR_MAX_UPLOAD_MB": "2"}), engine)
    with TestClient(app) as c:
        _wait_ready(c)
        body = post(c, speech, diarize="true", response_format="verbose_json").json()
        srt = post(c, speech, diarize="true", response_format="srt").text
        vtt = post(c, speech, diarize="true", response_format="vtt").text
    assert body["text"] == "hello there general kenobi"
    assert (body["speakers"], body["speaker_limit_reached"]) == (0, False)
    assert [(s["text"], "speaker" in s) for s in body["segments"]] == [("hello there general kenobi", False)]
    assert srt.splitlines()[0] == "1" and srt.splitlines()[2] == "hello there general kenobi"
    assert vtt.splitlines()[0] == "WEBVTT" and vtt.splitlines()[3] == "hello there general kenobi"


@pytest.mark.parametrize("form, code", [
    ({"response_format": "xml"}, "invalid_response_format"),
    ({"timestamp_granularities[]": "char"}, "invalid_timestamp_granularities"),
    ({"diarize": "perhaps"}, "invalid_field"),
    ({"language": "de"}, "unsupported_language"),
])
def test_bad_fields_are_400(client, speech, form, code):
    r = post(client, speech, **form)
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_missing_file_and_not_multipart(client):
    r = post(client, None, response_format="json")
    assert r.status_code == 400 and "file" in r.json()["error"]["message"]
    r = client.post("/v1/audio/transcriptions", json={"file": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_multipart"


def test_bad_audio_is_4xx(client, tone):
    assert post(client, b"").json()["error"]["code"] == "empty_file"
    assert post(client, b"hello, not audio at all").status_code == 400
    too_big = post(client, bytes(600 * 1024))
    assert too_big.status_code == 413 and "ASR_MAX_UPLOAD_MB" in too_big.json()["error"]["message"]
    too_long = post(client, wav_bytes(np.tile(tone, 6)))
    assert too_long.status_code == 413 and too_long.json()["error"]["code"] == "audio_too_long"


def test_full_queue_is_503_with_retry_after(client, engine, speech):
    worker = client.app.state.worker
    engine.gate.clear()
    worker.submit(lambda: engine.transcribe(np.ones(10, np.float32)))    # occupies the worker
    while worker._jobs.qsize():
        time.sleep(0.001)
    worker.submit(lambda: None)                                           # fills the queue (depth 1)
    r = post(client, speech)
    engine.gate.set()
    assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
    assert "ASR_QUEUE_DEPTH" in r.json()["error"]["message"]
    # Once the two jobs are done (on a loaded machine the worker may still hold them), a request is served.
    deadline = time.monotonic() + 10
    while worker.pending and time.monotonic() < deadline:
        time.sleep(0.001)
    assert post(client, speech).status_code == 200


def test_decode_error_is_500_json_and_cuda_errors_mark_unready(client, engine, speech):
    engine.fail = ValueError("odd tensor")
    r = post(client, speech)
    assert r.status_code == 500 and r.json()["error"]["message"] == "decode failed: odd tensor"
    assert client.get("/health/ready").status_code == 200
    engine.fail = RuntimeError("CUDA error: an illegal memory access was encountered")
    r = post(client, speech)
    assert r.status_code == 500 and "illegal memory access" in r.json()["error"]["message"]
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["phase"] == "failed"
    assert client.get("/health").status_code == 200


def test_an_engine_that_raises_busy_is_503_with_its_retry_after(client, engine, speech):
    """Engines may refuse a request for now (the bench's fault switch does)."""
    engine.fail = Busy("engine paused", 7)
    r = post(client, speech)
    assert r.status_code == 503 and r.headers["Retry-After"] == "7" and "engine paused" in r.json()["error"]["message"]
    engine.fail = None
    assert post(client, speech).status_code == 200


def _second_upload_while_one_decodes(env, engine, speech, monkeypatch, wait: str, hold: float | None = None,
                                     second=None):
    """Two uploads with ASR_DECODE_CONCURRENCY=1: the first upload's decode is held ``hold`` seconds, or
    (None) until the second upload has been answered."""
    import threading

    import asr_audio

    decoding, answered, real = threading.Event(), threading.Event(), asr_audio.decode

    def slow(data, *args, **kwargs):
        if data == speech:                      # the first upload's bytes (the second may differ)
            decoding.set()
            if hold is None:
                answered.wait(10)
            else:
                threading.Event().wait(hold)
        return real(data, *args, **kwargs)

    app = main.create_app(asr_settings.load(env | {"ASR_DECODE_CONCURRENCY": "1", "ASR_DECODE_WAIT_S": wait}), engine)
    with TestClient(app) as c:
        _wait_ready(c)
        monkeypatch.setattr(asr_audio, "decode", slow)
        first: list = []
        worker = threading.Thread(target=lambda: first.append(post(c, speech)))
        worker.start()
        assert decoding.wait(10)
        second = post(c, speech if second is None else second)
        answered.set()
        worker.join(10)
    return first[0], second


def test_concurrent_decodes_are_bounded_and_the_excess_is_503_after_the_wait(env, engine, flac_speech, monkeypatch):
    """Decoding happens before the queue, in threads: ASR_DECODE_CONCURRENCY
    at once; an upload that finds no slot within ASR_DECODE_WAIT_S is answered
    503 + Retry-After, not piled up."""
    first, second = _second_upload_while_one_decodes(env, engine, flac_speech, monkeypatch, wait="0.3")
    assert second.status_code == 503 and second.headers["Retry-After"] == "1"
    assert "ASR_DECODE_CONCURRENCY" in second.json()["error"]["message"]
    assert "ASR_DECODE_WAIT_S" in second.json()["error"]["message"]
    assert first.status_code == 200


def test_an_upload_waits_for_a_decode_slot_instead_of_a_503(env, engine, flac_speech, monkeypatch):
    """A burst of uploads waits its turn: the second decodes once the first's slot is free."""
    first, second = _second_upload_while_one_decodes(env, engine, flac_speech, monkeypatch, wait="10", hold=0.5)
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json()["text"] == second.json()["text"]


def test_what_the_header_refuses_needs_no_decode_slot(env, engine, flac_speech, monkeypatch):
    """A file too long for ASR_MAX_AUDIO_SECONDS is refused from its header (413) even while every slot is busy."""
    too_long = wav_bytes(np.zeros(16000 * 6, np.float32) + 0.01)       # 6 s: over the 5 s of this env
    first, second = _second_upload_while_one_decodes(env, engine, flac_speech, monkeypatch, wait="0",
                                                     second=too_long)
    assert (first.status_code, second.status_code) == (200, 413), second.text
    assert second.json()["error"]["code"] == "audio_too_long"


def test_no_wait_refuses_at_once(env, engine, flac_speech, monkeypatch):
    first, second = _second_upload_while_one_decodes(env, engine, flac_speech, monkeypatch, wait="0")
    assert (first.status_code, second.status_code) == (200, 503)


def test_a_short_16k_pcm_wav_needs_no_decode_slot(env, engine, flac_speech, speech, monkeypatch):
    """The usual upload is decoded on the event loop: answered while the only slot is busy."""
    first, second = _second_upload_while_one_decodes(env, engine, flac_speech, monkeypatch, wait="0",
                                                     second=speech)
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert second.json()["text"] == first.json()["text"]


def test_unknown_route_is_json_404(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "invalid_request_error"
