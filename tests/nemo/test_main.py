"""The overlay app in-process with the real nemo engine (tiny NeMo models):
warm-up and readiness, every response format, diarization, /overlay."""
from __future__ import annotations

import io
import time

import nemo
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

import api_times
import asr_formats
import main
from asr_audio import RATE
from asr_engine_nemo import NemoEngine
from asr_types import MAX_SPEAKERS


def wav(samples) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture(scope="module")
def client(settings):
    """The app as main() builds it, but with a warm-up retry short enough for a test."""
    app = main.create_app(settings, engine=NemoEngine(settings))
    test_client = TestClient(app)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready = test_client.get("/health/ready")
        if ready.status_code == 200 or ready.json()["phase"] == "failed":
            break
        time.sleep(0.5)
    return test_client


def post(client, samples, **fields):
    data = {"response_format": "json", **fields}
    return client.post("/v1/audio/transcriptions", files={"file": ("clip.wav", wav(samples), "audio/wav")},
                       data=data)


def test_ready_only_after_the_warm_up_decode(client):
    ready = client.get("/health/ready")
    body = ready.json()
    assert ready.status_code == 200, body
    assert body["ready"] is True and body["engine"] == "nemo" and body["phase"] == "ready"
    assert body["detail"].startswith("warm-up transcript: ")


def test_overlay_reports_nemo_and_cuda_bindings(client):
    overlay = client.get("/overlay").json()
    assert overlay["engine"] == "nemo" and overlay["cuda_graphs"] is False
    assert overlay["files"] == main.overlay_hashes()
    runtime = overlay["runtime"]
    assert runtime["nemo_toolkit"] == nemo.__version__
    assert set(runtime) >= {"torch", "cuda_bindings", "cuda_python"}
    assert runtime["decoder_cuda_graphs"] == "off"


@pytest.mark.parametrize("fmt", asr_formats.FORMATS)
def test_every_response_format(client, clips, fmt):
    samples = clips["single_speaker"]
    duration = len(samples) / RATE
    answer = post(client, samples, response_format=fmt, **{"timestamp_granularities[]": ["word", "segment"]})
    assert answer.status_code == 200, answer.text
    if fmt == "json":
        assert set(answer.json()) == {"text"} and answer.json()["text"]
    elif fmt == "text":
        assert answer.headers["content-type"].startswith("text/plain") and answer.text.strip()
    elif fmt == "verbose_json":
        body = answer.json()
        assert body["duration"] == round(duration, 3) and body["text"]
        api_times.check_spans(body["words"], duration, "words")
        api_times.check_spans(body["segments"], duration, "segments")
        assert body["words"][-1]["end"] <= duration
    else:
        cues = api_times.cue_times(answer.text)
        assert cues, answer.text
        assert all(0.0 <= start <= end <= round(duration, 3) for start, end in cues), cues
        assert answer.text.startswith("WEBVTT") == (fmt == "vtt")


@pytest.mark.parametrize("name", ["short_0.6s", "silence_2s", "two_speakers"])
def test_verbose_json_times_stay_inside_the_audio(client, clips, name):
    samples = clips[name]
    duration = len(samples) / RATE
    body = post(client, samples, response_format="verbose_json",
                **{"timestamp_granularities[]": ["word", "segment"]}).json()
    assert body["duration"] == round(duration, 3)
    api_times.check_spans(body["words"], round(duration, 3), "words")
    api_times.check_spans(body["segments"], round(duration, 3), "segments")


@pytest.mark.parametrize("fmt", ["json", "verbose_json", "srt", "vtt"])
def test_diarize_true_labels_at_most_four_speakers(client, clips, fmt):
    samples = clips["two_speakers"]
    duration = len(samples) / RATE
    answer = post(client, samples, response_format=fmt, diarize="true")
    assert answer.status_code == 200, answer.text
    if fmt in ("srt", "vtt"):
        labels = {line.split("]")[0][1:] if fmt == "srt" else line.split(">")[0][3:]
                  for line in answer.text.splitlines() if line.startswith(("[speaker_", "<v speaker_"))}
        assert 1 <= len(labels) <= MAX_SPEAKERS, answer.text
        # cue clocks are whole milliseconds
        assert all(0.0 <= s <= e <= round(duration, 3) for s, e in api_times.cue_times(answer.text))
        return
    body = answer.json()
    labels = {s["speaker"] for s in body["segments"]}
    assert 1 <= body["speakers"] == len(labels) <= MAX_SPEAKERS
    assert labels <= {f"speaker_{k}" for k in range(MAX_SPEAKERS)}
    assert isinstance(body["speaker_limit_reached"], bool)
    api_times.check_spans(body["segments"], round(duration, 3), "speaker segments")
