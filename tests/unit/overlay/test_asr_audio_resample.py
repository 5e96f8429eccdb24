"""asr_audio's mix-down and resampling: channels mixed down, resampled to 16 kHz, clipped, float32.

Checked on the real speech fixtures against the straightforward way (the mean
over the channels, soxr's one-shot resample of the whole signal, np.clip):
decoding block by block must give the same samples, and speech that went
through another rate must come back as the speech it was.
"""
from __future__ import annotations

import io
from math import gcd

import numpy as np
import pytest
import soundfile as sf
import soxr
from scipy.signal import resample_poly

import asr_audio
from conftest import AUDIO, wav_bytes


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """What decode does with one block: _mix_down, then the resampler (which clips)."""
    out = asr_audio._ToRate(rate)
    out.feed(asr_audio._mix_down(samples))
    return out.finish()


def straightforward(samples: np.ndarray, rate: int) -> np.ndarray:
    mono = samples.mean(axis=1, dtype=np.float32)
    if rate != 16000:
        mono = soxr.resample(mono, rate, 16000, quality="HQ")
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """The two real speech fixtures back to back (16 kHz mono float32)."""
    return np.concatenate([sf.read(AUDIO / f"{name}.wav", dtype="float32")[0]
                           for name in ("single_speaker", "two_speakers")])


def stereo(speech: np.ndarray, rate: int) -> np.ndarray:
    """Speech as a two-microphone recording at ``rate`` (made by another
    resampler, scipy's): the second channel a little later and quieter."""
    g = gcd(16000, rate)
    wide = resample_poly(speech, rate // g, 16000 // g).astype(np.float32)
    return np.stack([wide, 0.9 * np.roll(wide, 22)], axis=1)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_stereo_speech_gives_the_samples_of_the_straightforward_way(speech, rate):
    samples = stereo(speech[:5 * 16000], rate)
    expected = straightforward(samples, rate)
    out = to_mono_16k(samples.copy(), rate)
    assert out.dtype == np.float32 and out.ndim == 1 and out.flags.c_contiguous
    assert out.shape == expected.shape == (5 * 16000,)
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("rate", [22050, 44100, 48000, 96000])
def test_speech_through_another_rate_comes_back_as_itself(speech, rate):
    """16 kHz speech taken to ``rate`` and decoded back: the same signal, to
    well under the level of anything a transcriber would hear."""
    original = speech[:5 * 16000]
    g = gcd(16000, rate)
    wide = resample_poly(original, rate // g, 16000 // g).astype(np.float32)
    back = to_mono_16k(wide[:, None].copy(), rate)
    assert back.shape == original.shape
    # The edges hold the filters' run-in; speech in between must match.
    inner = slice(1600, -1600)
    error = np.mean((back[inner] - original[inner]) ** 2) / np.mean(original[inner] ** 2)
    assert 10 * np.log10(error) < -40, f"round trip through {rate} Hz: {10 * np.log10(error):.1f} dB"


def test_mono_16k_passes_through_unchanged(speech):
    samples = speech[:, None].copy()
    out = to_mono_16k(samples, 16000)
    np.testing.assert_array_equal(out, speech)
    assert out.dtype == np.float32 and out.flags.c_contiguous


def test_many_channels_are_averaged(speech):
    four = np.stack([speech, -speech, 0.5 * speech, np.roll(speech, 7)], axis=1)
    np.testing.assert_allclose(to_mono_16k(four.copy(), 16000), four.mean(axis=1), atol=1e-7)


def test_samples_beyond_full_scale_are_clipped():
    loud = np.array([[1.5, 1.5], [-2.0, -1.0], [0.25, 0.75]], dtype=np.float32)
    np.testing.assert_array_equal(to_mono_16k(loud, 16000), [1.0, -1.0, 0.5])


@pytest.mark.parametrize("rate", [44101, 11025, 4000, 384000])
def test_any_rate_ratio_gives_one_second_per_second(speech, rate):
    samples = resample_poly(speech[:16000], rate, 16000).astype(np.float32)[:, None]
    out = to_mono_16k(samples.copy(), rate)
    assert out.dtype == np.float32 and abs(len(out) - 16000) <= 1


def test_decode_of_a_stereo_upload_matches_the_straightforward_way(speech):
    samples = stereo(speech[:3 * 16000], 44100)
    data = wav_bytes(samples, rate=44100)
    as_read, _rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    audio = asr_audio.decode(data, 600)
    np.testing.assert_allclose(audio.samples, straightforward(as_read, 44100), atol=1e-6)
    assert (audio.source_rate, audio.source_channels) == (44100, 2)
