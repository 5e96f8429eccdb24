"""Serving discipline for real: concurrency through the bounded queue, the
bench faults, /overlay, and the GB10 CUDA-graph hazard emulation (real speech
crashes, silence does not); faults and hazard come from the bench image's
engine (ASR_ENGINE=spark_bench_engine:BenchEngine), not from the overlay."""
from __future__ import annotations

import hashlib
import io
import json
import threading
import time

import numpy as np
import pytest
import requests
import soundfile as sf

import overlay_support as support
from conftest import wer

MAX_WER = 0.25


@pytest.fixture(scope="module")
def overlay(request):
    return support.shared_overlay(request.config)


def test_overlay_reports_the_live_files(overlay):
    body = overlay.get("/overlay").json()
    assert body["version"] and body["engine"] == "cpu-bench"
    expected = {name: hashlib.sha256(data).hexdigest() for name, data in support.overlay_files().items()}
    assert body["files"] == expected


def test_health_models_and_request_log(overlay):
    assert overlay.get("/health").json()["status"] == "ok"
    assert overlay.get("/v1/models").json()["data"][0]["id"] == "parakeet-tdt-0.6b-v2"
    audio, _unused = support.speech("single_speaker")
    reply = requests.post(overlay.url + "/v1/audio/transcriptions", files={"file": ("a.wav", audio)},
                          headers={"X-Request-Id": "log-probe-1"}, timeout=120)
    assert reply.headers["X-Request-Id"] == "log-probe-1"
    # Docker takes a moment to deliver the container's stdout to its log: read the logs until the line shows (bounded).
    lines: list[dict] = []
    for _unused in range(50):
        lines = [json.loads(x) for x in overlay.logs().splitlines() if '"id":"log-probe-1"' in x]
        if lines:
            break
        time.sleep(0.1)
    assert lines, "no request log line for X-Request-Id log-probe-1 within 5 s"
    line = lines[0]
    assert line["status"] == 200 and line["outcome"] == "ok" and 7 < line["audio_s"] < 8
    assert line["decode_ms"] > 0 and line["queue_wait_ms"] >= 0


def test_concurrent_clients_get_answers_or_503_with_retry_after(overlay):
    """Eight clients at once against a queue of two: only 200s and 503s with
    Retry-After come back, and every client that honours Retry-After is served."""
    audio, reference = support.speech("single_speaker")
    clients, start = 8, threading.Barrier(8)
    first, final, attempts = [None] * clients, [None] * clients, [0] * clients

    def client(i):
        start.wait()
        for _unused in range(40):                         # bounded: at most 40 tries per client
            attempts[i] += 1
            reply = overlay.transcribe(audio)
            if first[i] is None:
                first[i] = (reply.status_code, reply.headers.get("Retry-After"))
            if reply.status_code != 503:
                final[i] = (reply.status_code, reply.json())
                return
            assert reply.headers.get("Retry-After", "").isdigit(), reply.headers
            time.sleep(min(int(reply.headers["Retry-After"]), 5))
        final[i] = (503, None)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert all(f is not None for f in first), first
    assert {s for s, _unused in first} <= {200, 503}, first
    assert any(s == 503 for s, _unused in first), "8 simultaneous clients never filled a queue of 2"
    assert all(ra and int(ra) >= 1 for s, ra in first if s == 503)
    assert all(f is not None and f[0] == 200 for f in final), final
    assert all(wer(reference, body["text"]) <= MAX_WER for _unused, body in final)
    assert overlay.get("/health/ready").status_code == 200


def test_fault_fail_503_until(overlay):
    audio, _unused = support.speech("single_speaker")
    overlay.write_faults({"fail_503_until": time.time() + 30})
    try:
        reply = overlay.transcribe(audio)
        assert reply.status_code == 503 and reply.headers["Retry-After"] == "1"
    finally:
        overlay.write_faults(None)
    assert overlay.transcribe(audio).status_code == 200


def test_fault_garble_gives_wrong_words(overlay):
    audio, reference = support.speech("single_speaker")
    overlay.write_faults({"garble": True})
    try:
        garbled = overlay.transcribe(audio).json()["text"]
    finally:
        overlay.write_faults(None)
    assert wer(reference, garbled) > 0.75, garbled
    assert wer(reference, overlay.transcribe(audio).json()["text"]) <= MAX_WER


@pytest.fixture(scope="module")
def hazard():
    """An overlay with cuda-python 'installed' (a module named cuda on the path)
    and ASR_CUDA_GRAPHS=on: the GB10 hazard."""
    name, port = f"parakeet-asr-overlay-cuda{support.SUFFIX}", 8030 + support.OFFSET
    stub = {"/opt/venv/lib/python3.11/site-packages/cuda/__init__.py":
            b'"""Stand-in for cuda-python: only its importability matters here."""\n'}
    overlay = support.start(name, port, {"ASR_CUDA_GRAPHS": "on", "ASR_WARMUP_RETRY_S": "1"}, extra=stub)
    try:
        support.wait(overlay, "/health", timeout=120)
        yield overlay
    finally:
        support.remove(name)


def test_hazard_real_speech_crashes_where_silence_does_not(hazard):
    deadline = time.monotonic() + 120
    while hazard.get("/health/ready").json()["phase"] in ("loading", "warming") and time.monotonic() < deadline:
        time.sleep(0.5)
    ready = hazard.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["phase"] == "failed"
    assert "illegal memory access" in ready.json()["detail"]
    assert hazard.get("/health").status_code == 200          # alive, just not ready
    buf = io.BytesIO()
    sf.write(buf, np.zeros(32000, dtype=np.float32), 16000, format="WAV", subtype="PCM_16")
    silence = hazard.transcribe(buf.getvalue())
    assert silence.status_code == 200 and silence.json() == {"text": ""}
    audio, _unused = support.speech("single_speaker")
    crash = hazard.transcribe(audio)
    assert crash.status_code == 500
    assert "CUDA error: an illegal memory access was encountered" in crash.json()["error"]["message"]
    assert hazard.get("/overlay").json()["cuda_graphs"] is True
