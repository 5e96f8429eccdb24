"""Upload validation: every bad input becomes a 4xx naming what was wrong."""
from __future__ import annotations

import numpy as np
import pytest

import asr_audio
from conftest import AUDIO, wav_bytes


def refused(data: bytes, max_seconds: float = 600) -> asr_audio.AudioError:
    with pytest.raises(asr_audio.AudioError) as info:
        asr_audio.decode(data, max_seconds)
    return info.value


def test_empty_file():
    err = refused(b"")
    assert (err.status, err.code) == (400, "empty_file")


def test_not_audio():
    err = refused(b"%PDF-1.7 this is a document, not speech" * 10)
    assert (err.status, err.code) == (400, "not_audio")
    assert "not audio" in str(err) and "WAV" in str(err)


@pytest.mark.parametrize("header, name", [
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "mp4/m4a/aac"),
    (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01", "webm/matroska"),
    (b"#!AMR\n", "amr"),
])
def test_recognised_but_unsupported_formats_get_415(header, name):
    err = refused(header + bytes(2000))
    assert (err.status, err.code) == (415, "unsupported_format")
    assert name in str(err)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_truncated_wav(tone, subtype):
    """Plain 16-bit PCM is read without libsndfile; the others take the RIFF check before it."""
    data = wav_bytes(tone, subtype=subtype)
    err = refused(data[: len(data) // 2])
    assert (err.status, err.code) == (400, "truncated")
    assert "declares" in str(err)


@pytest.mark.parametrize("placeholder", [0x7FFFF000, 0xFFFFFFFF])
def test_streamed_wav_with_placeholder_length_is_decoded(tone, placeholder):
    """espeak-ng --stdout and ffmpeg pipes cannot know the length up front."""
    data = bytearray(wav_bytes(tone))
    at = data.index(b"data") + 4
    data[at:at + 4] = placeholder.to_bytes(4, "little")
    data[4:8] = (placeholder - 36 & 0xFFFFFFFF).to_bytes(4, "little")
    audio = asr_audio.decode(bytes(data), 600)
    assert abs(len(audio.samples) - len(tone)) < 16


def test_wav_header_only():
    err = refused(wav_bytes(np.zeros(1600, dtype=np.float32))[:44])
    assert err.status == 400 and err.code in ("truncated", "empty_audio")


def test_corrupt_flac():
    err = refused(b"fLaC" + bytes(range(256)) * 4)
    assert (err.status, err.code) == (400, "corrupt_audio")


def test_over_long_audio_is_refused_before_decoding(tone):
    err = refused(wav_bytes(np.tile(tone, 5)), max_seconds=3)
    assert (err.status, err.code) == (413, "audio_too_long")
    assert "ASR_MAX_AUDIO_SECONDS" in str(err)


def test_stereo_44k_is_resampled_to_16k_mono(tone):
    t = np.arange(44100) / 44100
    left = 0.5 * np.sin(2 * np.pi * 300 * t)
    stereo = np.stack([left, np.zeros_like(left)], axis=1).astype(np.float32)
    audio = asr_audio.decode(wav_bytes(stereo, rate=44100), 600)
    assert (audio.source_rate, audio.source_channels, audio.container) == (44100, 2, "wav")
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(len(audio.samples) - 16000) <= 1
    assert 0.2 < np.abs(audio.samples).max() < 0.3        # mono = mean of the channels


def test_odd_sample_rate_is_interpolated():
    samples = np.zeros(44101, dtype=np.float32)
    audio = asr_audio.decode(wav_bytes(samples, rate=44101), 600)
    assert abs(len(audio.samples) - 16000) <= 1


def test_flac_and_ogg_decode(tone):
    for fmt, subtype in (("FLAC", "PCM_16"), ("OGG", "VORBIS")):
        audio = asr_audio.decode(wav_bytes(tone, fmt=fmt, subtype=subtype), 600)
        assert audio.container == fmt.lower()
        assert abs(audio.duration - 1.0) < 0.05


def test_real_fixture_passes_unchanged():
    data = (AUDIO / "single_speaker.wav").read_bytes()
    audio = asr_audio.decode(data, 600)
    assert audio.source_rate == 16000 and audio.source_channels == 1
    assert 3 < audio.duration < 30


def test_nan_samples_are_refused():
    bad = np.array([0.0, np.nan, 0.1] * 1000, dtype=np.float32)
    err = refused(wav_bytes(bad, subtype="FLOAT"))
    assert err.code == "corrupt_audio"
