"""The overlay with the cpu engine in the bench's parakeet-asr image, fed real
speech: transcripts, response formats, diarization and the 4-speaker cap.

Requests go one at a time (the concurrency test is in test_overlay_serving.py).
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

import overlay_support as support
from conftest import wer

MAX_WER = 0.25


@pytest.fixture(scope="module")
def overlay(request):
    return support.shared_overlay(request.config)


@pytest.mark.parametrize("name", ["single_speaker", "two_speakers"])
def test_transcript_within_wer(overlay, name):
    audio, reference = support.speech(name)
    reply = overlay.transcribe(audio, model="parakeet-tdt-0.6b-v2", language="en")
    assert reply.status_code == 200, reply.text
    assert wer(reference, reply.json()["text"]) <= MAX_WER, reply.json()["text"]


def test_response_formats(overlay):
    audio, reference = support.speech("single_speaker")
    text = overlay.transcribe(audio, response_format="text")
    assert text.headers["content-type"].startswith("text/plain") and wer(reference, text.text) <= MAX_WER
    verbose = overlay.transcribe(audio, response_format="verbose_json",
                                 **{"timestamp_granularities[]": ["word", "segment"]}).json()
    assert verbose["language"] == "en" and 7.0 < verbose["duration"] < 8.0
    assert verbose["segments"] and all(s["end"] > s["start"] for s in verbose["segments"])
    assert len(verbose["words"]) >= 20 and wer(reference, " ".join(w["word"] for w in verbose["words"])) <= MAX_WER
    srt = overlay.transcribe(audio, response_format="srt")
    assert srt.text.startswith("1\n00:00:0") and " --> " in srt.text
    vtt = overlay.transcribe(audio, response_format="vtt")
    assert vtt.text.startswith("WEBVTT") and wer(reference, " ".join(
        line for line in vtt.text.splitlines()[1:] if line and "-->" not in line)) <= MAX_WER


def test_two_speakers_are_diarized_into_two(overlay):
    audio, reference = support.speech("two_speakers")
    turns = json.loads((support.AUDIO / "two_speakers.json").read_text())["turns"]
    body = overlay.transcribe(audio, diarize="true", response_format="verbose_json").json()
    assert body["speakers"] == 2 and body["speaker_limit_reached"] is False
    assert wer(reference, body["text"]) <= MAX_WER
    got = [s["speaker"] for s in body["segments"]]
    assert set(got) == {"speaker_0", "speaker_1"}
    # each reference turn's words land in one segment with the right alternation
    assert len(body["segments"]) == len(turns)
    assert got == ["speaker_0", "speaker_1", "speaker_0", "speaker_1"]
    for seg, turn in zip(body["segments"], turns):
        assert wer(turn["text"], seg["text"]) <= MAX_WER, (seg, turn)
    plain = overlay.transcribe(audio, diarize="true").json()
    assert plain["speakers"] == 2 and {s["speaker"] for s in plain["segments"]} == {"speaker_0", "speaker_1"}


def test_one_voice_is_one_speaker(overlay):
    audio, _unused = support.speech("single_speaker")
    body = overlay.transcribe(audio, diarize="true").json()
    assert body["speakers"] == 1 and {s["speaker"] for s in body["segments"]} == {"speaker_0"}


def _five_voices(overlay) -> bytes:
    """Real speech from five voices: the Piper and espeak voices of the fixtures
    plus three espeak-ng voices rendered inside the container, twice round."""
    single, _unused = support.speech("single_speaker")
    two, _unused = support.speech("two_speakers")
    a, _unused = sf.read(io.BytesIO(single), dtype="float32")
    b, _unused = sf.read(io.BytesIO(two), dtype="float32")
    turns = json.loads((support.AUDIO / "two_speakers.json").read_text())["turns"]
    voices = [a[: int(3.3 * 16000)], b[int(turns[1]["start"] * 16000): int(turns[1]["end"] * 16000)]]
    for voice, line in [("en-gb+m3", "The new diarizer handles four speakers at most."),
                        ("en-us+f5", "We should test it with more voices than that."),
                        ("en+m7", "I agree, and we also need a benchmark for throughput.")]:
        wav = overlay.exec(["espeak-ng", "-v", voice, "-s", "160", "--stdout", line])
        samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
        voices.append(np.interp(np.arange(int(len(samples) * 16000 / rate)) * rate / 16000,
                                np.arange(len(samples)), samples).astype(np.float32))
    gap = np.zeros(8000, dtype=np.float32)
    pieces = [gap]
    for _unused in range(2):
        for v in voices:
            pieces += [v, gap]
    buf = io.BytesIO()
    sf.write(buf, np.concatenate(pieces), 16000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_five_voices_stay_within_four_labels_and_say_so(overlay):
    reply = overlay.transcribe(_five_voices(overlay), diarize="true", response_format="verbose_json")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    labels = {s["speaker"] for s in body["segments"]}
    assert labels <= {"speaker_0", "speaker_1", "speaker_2", "speaker_3"}
    assert body["speakers"] == len(labels) <= 4
    assert body["speaker_limit_reached"] is True


def test_silence_and_tone_give_an_empty_transcript(overlay):
    silence = io.BytesIO()
    sf.write(silence, np.zeros(3 * 16000, dtype=np.float32), 16000, format="WAV", subtype="PCM_16")
    reply = overlay.transcribe(silence.getvalue())
    assert reply.status_code == 200 and reply.json() == {"text": ""}
    t = np.arange(2 * 16000) / 16000
    tone = io.BytesIO()
    sf.write(tone, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000, format="WAV", subtype="PCM_16")
    reply = overlay.transcribe(tone.getvalue(), diarize="true")
    assert reply.status_code == 200 and reply.json()["text"] == "" and reply.json()["speakers"] == 0


@pytest.mark.parametrize("rate, channels, fmt, subtype", [
    (44100, 2, "WAV", "PCM_16"), (8000, 1, "WAV", "PCM_U8"), (48000, 1, "FLAC", "PCM_24"),
    (22050, 1, "OGG", "VORBIS"), (16000, 2, "MP3", "MPEG_LAYER_III"),
])
def test_any_rate_channels_and_format_is_resampled(overlay, rate, channels, fmt, subtype):
    from scipy.signal import resample_poly

    audio, reference = support.speech("single_speaker")
    samples, _unused = sf.read(io.BytesIO(audio), dtype="float32")
    converted = resample_poly(samples, rate, 16000) if rate != 16000 else samples
    if channels == 2:
        converted = np.stack([converted, 0.5 * converted], axis=1)
    buf = io.BytesIO()
    sf.write(buf, converted, rate, format=fmt, subtype=subtype)
    reply = overlay.transcribe(buf.getvalue(), filename=f"speech.{fmt.lower()}", response_format="verbose_json")
    assert reply.status_code == 200, reply.text
    assert 7.0 < reply.json()["duration"] < 8.0
    assert wer(reference, reply.json()["text"]) <= MAX_WER, reply.json()["text"]
