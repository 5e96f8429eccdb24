"""The bench's servers, tested for real: real speech in, text and audio out.

Audio requests go strictly one at a time (the tests run sequentially).
"""
from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import time
import wave

import numpy as np
import pytest
import requests
import soundfile as sf
from scipy.signal import resample_poly

from conftest import AUDIO, SUFFIX, TAG, wav_info, wer

MAX_WER = 0.25
VOICES = ["af_heart", "af_bella", "am_adam", "bf_emma", "bm_george"]
ROUND_TRIP = "Please send the quarterly report to the finance team by Friday."


def transcribe(base: str, data: bytes, filename: str = "speech.wav", **form) -> requests.Response:
    files = {"file": (filename, data, "application/octet-stream")}
    return requests.post(f"{base}/v1/audio/transcriptions", files=files, data=form, timeout=120)


def speak(base: str, **body) -> requests.Response:
    payload = {"model": "kokoro", "input": "The bench is healthy today.", "voice": "am_adam",
               "response_format": "wav"} | body
    return requests.post(f"{base}/v1/audio/speech", json=payload, timeout=120)


def assert_json_error(reply: requests.Response, status: int | None = None) -> str:
    if status is None:
        assert 400 <= reply.status_code < 500, reply.text
    else:
        assert reply.status_code == status, reply.text
    message = reply.json()["error"]["message"]
    assert message and "Traceback" not in message
    return message


# ---- fixtures and health ----------------------------------------------------

@pytest.mark.parametrize("name", ["single_speaker", "two_speakers"])
def test_fixtures_are_16k_mono_pcm_speech(name):
    with wave.open(str(AUDIO / f"{name}.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert 3.0 < wav.getnframes() / 16000 < 20.0
    assert len((AUDIO / f"{name}.txt").read_text().split()) >= 15


def test_two_speaker_reference_turns_alternate_and_fit_the_audio():
    import json

    ref = json.loads((AUDIO / "two_speakers.json").read_text())
    turns = ref["turns"]
    with wave.open(str(AUDIO / "two_speakers.wav")) as wav:
        duration = wav.getnframes() / wav.getframerate()
    assert 4 <= len(turns) <= 6
    assert all(a["speaker"] != b["speaker"] for a, b in zip(turns, turns[1:]))
    assert all(0 <= t["start"] < t["end"] <= duration for t in turns)
    assert all(a["end"] < b["start"] for a, b in zip(turns, turns[1:]))
    text = (AUDIO / "two_speakers.txt").read_text().split()
    assert " ".join(t["text"] for t in turns).split() == text


@pytest.mark.parametrize("service", ["stt", "tts", "control"])
def test_health_answers(bench_urls, service):
    reply = requests.get(f"{bench_urls[service]}/health", timeout=10)
    assert reply.status_code == 200
    assert reply.json()["status"] in ("ok", "healthy")


def test_status_reports_the_llm_and_the_audio_services(control_url, stt_url, tts_url):
    status = requests.get(f"{control_url}/api/status", timeout=10).json()
    assert status["vllm"]["current_model"]
    assert status["services"]["stt"] == {"url": stt_url, "up": True}
    assert status["services"]["tts"] == {"url": tts_url, "up": True}


# ---- speech to text ---------------------------------------------------------

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
    with wave.open(io.BytesIO(audio)) as wav:
        duration = wav.getnframes() / wav.getframerate()
    assert verbose["language"] == "en"
    assert verbose["duration"] == pytest.approx(duration, abs=0.05)
    assert verbose["segments"] and all(s["end"] > s["start"] for s in verbose["segments"])
    assert wer(reference, " ".join(s["text"] for s in verbose["segments"])) <= MAX_WER
    text = transcribe(stt_url, audio, response_format="text")
    assert text.headers["content-type"].startswith("text/plain")
    assert wer(reference, text.text) <= MAX_WER


def test_other_rates_channels_and_containers_are_converted(stt_url, speech_fixture):
    """44.1 kHz stereo FLAC of the fixture: resampled to 16 kHz mono, same words."""
    audio, reference = speech_fixture("single_speaker")
    samples, rate = sf.read(io.BytesIO(audio), dtype="float32")
    stereo = np.stack([resample_poly(samples, 441, 160)] * 2, axis=1)
    buf = io.BytesIO()
    sf.write(buf, stereo, 44100, format="FLAC")
    reply = transcribe(stt_url, buf.getvalue(), filename="speech.flac")
    assert reply.status_code == 200, reply.text
    assert wer(reference, reply.json()["text"]) <= MAX_WER


_M4A_ENCODER = """
import io, sys, av, numpy as np
pcm = np.frombuffer(open(sys.argv[1], "rb").read()[44:], dtype="<i2")
buf = io.BytesIO()  # the MP4 muxer seeks back to write its index
out = av.open(buf, "w", format="ipod")
stream = out.add_stream("aac", rate=16000, layout="mono")
frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
frame.sample_rate = 16000
for packet in [*stream.encode(frame), *stream.encode(None)]:
    out.mux(packet)
out.close()
sys.stdout.buffer.write(buf.getvalue())
"""


def test_m4a_is_decoded_by_the_fallback_decoder(stt_url, speech_fixture, docker_client):
    """libsndfile cannot read M4A/AAC; the server falls back to PyAV (encoded
    with the PyAV inside the container: the host has no AAC encoder)."""
    audio, reference = speech_fixture("single_speaker")
    box = docker_client.containers.get("parakeet-asr" + SUFFIX)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("bench-test-speech.wav")
        info.size = len(audio)
        archive.addfile(info, io.BytesIO(audio))
    box.put_archive("/tmp", tar.getvalue())
    result = box.exec_run(["python", "-c", _M4A_ENCODER, "/tmp/bench-test-speech.wav"], demux=True)
    box.exec_run(["rm", "-f", "/tmp/bench-test-speech.wav"])
    assert result.exit_code == 0, result.output[1]
    m4a = result.output[0]
    assert m4a[4:8] == b"ftyp"
    with pytest.raises(sf.LibsndfileError):
        sf.info(io.BytesIO(m4a))
    reply = transcribe(stt_url, m4a, filename="speech.m4a")
    assert reply.status_code == 200, reply.text
    assert wer(reference, reply.json()["text"]) <= MAX_WER


def test_streamed_wav_with_placeholder_length_is_accepted(stt_url, docker_client):
    """espeak-ng --stdout writes a WAV whose data size is a placeholder: not truncated."""
    box = docker_client.containers.get("kokoro" + SUFFIX)
    result = box.exec_run(["espeak-ng", "-v", "en-us+f3", "--stdout", ROUND_TRIP], demux=True)
    data = result.output[0]
    assert result.exit_code == 0 and int.from_bytes(data[40:44], "little") > len(data)
    reply = transcribe(stt_url, data)
    assert reply.status_code == 200, reply.text
    assert wer(ROUND_TRIP, reply.json()["text"]) <= MAX_WER


def _bad_uploads(speech: bytes) -> dict:
    return {
        "empty": ("empty.wav", b""),
        "truncated": ("cut.wav", speech[: len(speech) // 3]),
        "not audio": ("notes.wav", b"these are meeting notes, not audio\n" * 20),
        "header only": ("header.wav", speech[:44]),
    }


@pytest.mark.parametrize("kind", ["empty", "truncated", "not audio", "header only", "missing file", "json body"])
@pytest.mark.parametrize("via", ["stt", "control"])
def test_bad_audio_gets_a_4xx_json_error(bench_urls, speech_fixture, kind, via):
    url = f"{bench_urls[via]}/v1/audio/transcriptions"
    if kind == "missing file":
        reply = requests.post(url, data={"model": "parakeet-tdt-0.6b-v2"}, timeout=30)
    elif kind == "json body":
        reply = requests.post(url, json={"file": "speech.wav"}, timeout=30)
    else:
        name, data = _bad_uploads(speech_fixture("single_speaker")[0])[kind]
        reply = requests.post(url, files={"file": (name, data, "audio/wav")}, timeout=30)
    message = assert_json_error(reply, 400)
    if kind in ("empty", "truncated", "missing file"):
        assert {"empty": "empty", "truncated": "truncated", "missing file": "file"}[kind] in message


def test_unsupported_response_format_is_a_4xx(stt_url, speech_fixture):
    reply = transcribe(stt_url, speech_fixture("single_speaker")[0], response_format="docx")
    assert "docx" in assert_json_error(reply, 400)


# ---- text to speech ---------------------------------------------------------

@pytest.mark.parametrize("voice", VOICES)
def test_speech_is_a_wav_with_speech_in_it(control_url, voice):
    reply = speak(control_url, voice=voice)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "audio/wav"
    info = wav_info(reply.content)
    assert (info["rate"], info["channels"], info["width"]) == (24000, 1, 2)
    assert 0.8 < info["duration"] < 6.0  # five words
    assert info["rms"] > 0.01


def test_default_format_is_wav_and_pcm_is_raw_samples(tts_url):
    wav = requests.post(f"{tts_url}/v1/audio/speech", json={"input": "Good morning.", "voice": "am_adam"},
                        timeout=120)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"
    pcm = speak(tts_url, input="Good morning.", response_format="pcm")
    assert pcm.headers["content-type"] == "audio/pcm"
    samples = np.frombuffer(pcm.content, dtype="<i2").astype(np.float32) / 32768.0
    assert len(pcm.content) % 2 == 0 and 0.5 < samples.size / 24000 < 4.0
    assert float(np.sqrt(np.mean(samples ** 2))) > 0.01


@pytest.mark.parametrize("voice", ["am_adam", "af_heart"])
def test_speech_round_trip_through_stt(control_url, voice):
    audio = speak(control_url, voice=voice, input=ROUND_TRIP).content
    heard = transcribe(control_url, audio).json()["text"]
    assert wer(ROUND_TRIP, heard) <= MAX_WER, heard


def test_voices_are_distinct(tts_url):
    digests = {hashlib.sha256(speak(tts_url, voice=v).content).hexdigest() for v in VOICES}
    assert len(digests) == len(VOICES)


def test_input_that_looks_like_an_option_is_spoken(tts_url):
    reply = speak(tts_url, voice="af_heart", input="--help me please")
    assert reply.status_code == 200, reply.text
    assert wav_info(reply.content)["rms"] > 0.01


@pytest.mark.parametrize("body,word", [
    ({"voice": "no_such_voice"}, "no_such_voice"),
    ({"input": "   "}, "empty"),
    ({"input": "word " * 1000}, "limit"),
    ({"response_format": "mp3"}, "mp3"),
    ({"speed": 9.0}, "speed"),
    ({"model": "gpt-9"}, "gpt-9"),
    ({"input": None}, "input"),
])
@pytest.mark.parametrize("via", ["tts", "control"])
def test_bad_speech_request_gets_a_4xx_json_error(bench_urls, body, word, via):
    assert word in assert_json_error(speak(bench_urls[via], **body), 400)


def test_speech_body_that_is_not_json_is_a_4xx(tts_url):
    reply = requests.post(f"{tts_url}/v1/audio/speech", data=b"say hello", timeout=30,
                          headers={"content-type": "application/json"})
    assert_json_error(reply, 400)


# ---- the catalogue ----------------------------------------------------------

def test_catalogue_lists_stt_model_and_voices_but_no_llm(control_url):
    models = requests.get(f"{control_url}/v1/models", timeout=10).json()["data"]
    ids = {m["id"] for m in models}
    llm = requests.get(f"{control_url}/api/status", timeout=10).json()["vllm"]["current_model"]
    assert "parakeet-tdt-0.6b-v2" in ids
    assert set(VOICES) <= ids
    assert llm and llm not in ids
    assert {m["type"] for m in models} == {"stt", "tts-voice"}


def test_voices_endpoint_through_control(control_url, tts_url):
    through = requests.get(f"{control_url}/v1/audio/voices", timeout=10).json()
    assert through == requests.get(f"{tts_url}/v1/audio/voices", timeout=10).json()
    assert through["voices"] == VOICES


def test_tts_model_list_has_kokoro_and_no_voice(tts_url):
    ids = {m["id"] for m in requests.get(f"{tts_url}/v1/models", timeout=10).json()["data"]}
    assert "kokoro" in ids and not ids & set(VOICES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_control_answers_502_json_when_upstream_is_down(docker_client):
    """A second spark-control whose STT and TTS point at a port nobody serves."""
    port, dead = _free_port(), _free_port()
    name = f"spark-control-deadend{SUFFIX}"
    for old in docker_client.containers.list(all=True, filters={"name": f"^{name}$"}):
        old.remove(force=True)
    box = docker_client.containers.run(
        f"spark-bench/spark-control:{TAG}", name=name, detach=True, network_mode="host",
        labels={"spark-bench.member": "true"},
        environment={"CONTROL_HOST": "127.0.0.1", "CONTROL_PORT": str(port),
                     "STT_URL": f"http://127.0.0.1:{dead}", "TTS_URL": f"http://127.0.0.1:{dead}",
                     "VLLM_CURRENT_MODEL": "bench/llm-stand-in"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(60):
            try:
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        assert "did not answer" in assert_json_error(
            transcribe(base, (AUDIO / "single_speaker.wav").read_bytes()), 502)
        assert_json_error(speak(base), 502)
        assert_json_error(requests.get(f"{base}/v1/models", timeout=10), 502)
        status = requests.get(f"{base}/api/status", timeout=10).json()
        assert status["services"]["stt"]["up"] is False and status["vllm"]["current_model"]
    finally:
        box.remove(force=True)


# ---- fault switches ---------------------------------------------------------

def test_fault_garble_spoils_the_transcript(stt_url, speech_fixture, bench_fault):
    audio, reference = speech_fixture("single_speaker")
    bench_fault("parakeet-asr", {"garble": True})
    assert wer(reference, transcribe(stt_url, audio).json()["text"]) > 0.5
    bench_fault("parakeet-asr", None)
    assert wer(reference, transcribe(stt_url, audio).json()["text"]) <= MAX_WER


@pytest.mark.parametrize("container,via", [
    ("parakeet-asr", "stt"), ("parakeet-asr", "control"), ("kokoro", "tts"), ("kokoro", "control"),
])
def test_fault_503_carries_retry_after_and_passes(bench_urls, speech_fixture, bench_fault, container, via):
    bench_fault(container, {"fail_503_until": time.time() + 2})

    def call():
        if container == "kokoro":
            return speak(bench_urls[via])
        return transcribe(bench_urls[via], speech_fixture("single_speaker")[0])

    reply = call()
    assert reply.status_code == 503 and reply.json()["error"]["message"]
    assert reply.headers["retry-after"] == "1"
    time.sleep(2.2)
    assert call().status_code == 200


def test_fault_silence_makes_tts_silent(tts_url, bench_fault):
    bench_fault("kokoro", {"silence": True})
    info = wav_info(speak(tts_url).content)
    assert info["duration"] > 0.5 and info["rms"] == 0.0
    bench_fault("kokoro", None)
    assert wav_info(speak(tts_url).content)["rms"] > 0.01


def test_malformed_fault_file_means_no_faults(stt_url, tts_url, speech_fixture, bench_fault):
    audio, reference = speech_fixture("single_speaker")
    bench_fault("parakeet-asr", {"fail_503_until": "soon", "garble": False})
    assert wer(reference, transcribe(stt_url, audio).json()["text"]) <= MAX_WER
    bench_fault("kokoro", {"fail_503_until": "soon"})
    assert speak(tts_url).status_code == 200
