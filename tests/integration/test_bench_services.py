"""The bench's servers, tested for real: real speech in, text and audio out.

Audio requests go strictly one at a time (the tests run sequentially).
"""
from __future__ import annotations

import hashlib
import time
import wave

import pytest
import requests

from conftest import AUDIO, wav_info, wer

MAX_WER = 0.25
VOICES = ["af_heart", "af_bella", "am_adam", "bf_emma", "bm_george"]


def transcribe(base: str, data: bytes, **form) -> requests.Response:
    files = {"file": ("speech.wav", data, "audio/wav")}
    return requests.post(f"{base}/v1/audio/transcriptions", files=files, data=form, timeout=120)


def speak(base: str, **body) -> requests.Response:
    payload = {"model": "kokoro", "input": "The bench is healthy today.", "voice": "am_adam",
               "response_format": "wav"} | body
    return requests.post(f"{base}/v1/audio/speech", json=payload, timeout=120)


@pytest.mark.parametrize("name", ["single_speaker", "two_speakers"])
def test_fixtures_are_16k_mono_pcm_speech(name):
    with wave.open(str(AUDIO / f"{name}.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert 3.0 < wav.getnframes() / 16000 < 30.0
    assert len((AUDIO / f"{name}.txt").read_text().split()) >= 15


@pytest.mark.parametrize("name", ["single_speaker", "two_speakers"])
@pytest.mark.parametrize("via", ["stt", "control"])
def test_transcript_within_wer(bench_urls, speech_fixture, name, via):
    audio, reference = speech_fixture(name)
    reply = transcribe(bench_urls[via], audio)
    assert reply.status_code == 200, reply.text
    assert wer(reference, reply.json()["text"]) <= MAX_WER, reply.json()["text"]


def test_verbose_json_and_text_formats(stt_url, speech_fixture):
    audio, reference = speech_fixture("single_speaker")
    verbose = transcribe(stt_url, audio, response_format="verbose_json").json()
    assert verbose["language"] == "en"
    assert 7.0 < verbose["duration"] < 8.0
    assert verbose["segments"] and all(s["end"] > s["start"] for s in verbose["segments"])
    text = transcribe(stt_url, audio, response_format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert wer(reference, text.text) <= MAX_WER


@pytest.mark.parametrize("voice", VOICES)
def test_speech_is_a_wav_with_speech_in_it(control_url, voice):
    reply = speak(control_url, voice=voice)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "audio/wav"
    info = wav_info(reply.content)
    assert (info["rate"], info["channels"], info["width"]) == (24000, 1, 2)
    assert 0.8 < info["duration"] < 6.0  # five words
    assert info["rms"] > 0.01


@pytest.mark.parametrize("voice", ["am_adam", "af_heart"])
def test_speech_round_trip_through_stt(control_url, voice):
    text = "Please send the quarterly report to the finance team by Friday."
    audio = speak(control_url, voice=voice, input=text).content
    heard = transcribe(control_url, audio).json()["text"]
    assert wer(text, heard) <= MAX_WER, heard


def test_voices_are_distinct(tts_url):
    digests = {hashlib.sha256(speak(tts_url, voice=v).content).hexdigest() for v in VOICES}
    assert len(digests) == len(VOICES)


def test_catalogue_lists_stt_model_and_voices_but_no_llm(control_url):
    models = requests.get(f"{control_url}/v1/models", timeout=10).json()["data"]
    ids = {m["id"] for m in models}
    llm = requests.get(f"{control_url}/api/status", timeout=10).json()["vllm"]["current_model"]
    assert "parakeet-tdt-0.6b-v2" in ids
    assert set(VOICES) <= ids
    assert llm and llm not in ids
    assert {m["type"] for m in models} == {"stt", "tts-voice"}


def test_voices_endpoint_through_control(control_url):
    assert requests.get(f"{control_url}/v1/audio/voices", timeout=10).json()["voices"] == VOICES


def _bad_uploads(speech: bytes) -> dict:
    return {
        "empty": ("empty.wav", b""),
        "truncated": ("cut.wav", speech[: len(speech) // 3]),
        "not audio": ("notes.wav", b"these are meeting notes, not audio\n" * 20),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "not audio", "missing file"])
@pytest.mark.parametrize("via", ["stt", "control"])
def test_bad_audio_gets_a_4xx_json_error(bench_urls, speech_fixture, kind, via):
    url = f"{bench_urls[via]}/v1/audio/transcriptions"
    if kind == "missing file":
        reply = requests.post(url, data={"model": "parakeet-tdt-0.6b-v2"}, timeout=30)
    else:
        name, data = _bad_uploads(speech_fixture("single_speaker")[0])[kind]
        reply = requests.post(url, files={"file": (name, data, "audio/wav")}, timeout=30)
    assert 400 <= reply.status_code < 500, reply.text
    assert reply.json()["error"]["message"]


@pytest.mark.parametrize("body", [
    {"voice": "no_such_voice"}, {"input": "   "}, {"response_format": "mp3"}, {"speed": 9.0},
])
def test_bad_speech_request_gets_a_4xx_json_error(control_url, body):
    reply = speak(control_url, **body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["message"]


def test_fault_garble_spoils_the_transcript(stt_url, speech_fixture, bench_fault):
    audio, reference = speech_fixture("single_speaker")
    bench_fault("parakeet-asr", {"garble": True})
    assert wer(reference, transcribe(stt_url, audio).json()["text"]) > 0.5
    bench_fault("parakeet-asr", None)
    assert wer(reference, transcribe(stt_url, audio).json()["text"]) <= MAX_WER


@pytest.mark.parametrize("container,via", [("parakeet-asr", "stt"), ("parakeet-asr", "control"), ("kokoro", "tts")])
def test_fault_503_carries_retry_after_and_passes(bench_urls, speech_fixture, bench_fault, container, via):
    bench_fault(container, {"fail_503_until": time.time() + 2})

    def call():
        if container == "kokoro":
            return speak(bench_urls[via])
        return transcribe(bench_urls[via], speech_fixture("single_speaker")[0])

    reply = call()
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"
    time.sleep(2.2)
    assert call().status_code == 200


def test_fault_silence_makes_tts_silent(tts_url, bench_fault):
    bench_fault("kokoro", {"silence": True})
    info = wav_info(speak(tts_url).content)
    assert info["duration"] > 0.5 and info["rms"] == 0.0
