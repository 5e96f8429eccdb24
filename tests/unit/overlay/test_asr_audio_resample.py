"""asr_audio's mix-down and resampling: channels mixed down, resampled to 16 kHz, clipped, float32.

Checked against the straightforward way it was done before (the mean over the
channels, scipy's resample_poly with its own filter, np.clip, astype) on the
real speech fixtures: the faster code must give the same samples.
"""
from __future__ import annotations

import io
from math import gcd

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import asr_audio
from conftest import AUDIO, wav_bytes


def to_mono_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """What decode does to each block: _mix_down, then _resample, clipped (in float32)."""
    return np.clip(asr_audio._resample(asr_audio._mix_down(samples), rate), -1.0, 1.0).astype(np.float32)


def straightforward(samples: np.ndarray, rate: int) -> np.ndarray:
    mono = samples.mean(axis=1)
    if rate != 16000:
        g = gcd(16000, rate)
        mono = resample_poly(mono, 16000 // g, rate // g)
    return np.clip(mono, -1.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """The two real speech fixtures back to back (16 kHz mono float32)."""
    return np.concatenate([sf.read(AUDIO / f"{name}.wav", dtype="float32")[0]
                           for name in ("single_speaker", "two_speakers")])


def stereo(speech: np.ndarray, rate: int) -> np.ndarray:
    """Speech as a two-microphone recording at ``rate``: the second channel a little later and quieter."""
    g = gcd(16000, rate)
    wide = resample_poly(speech, rate // g, 16000 // g).astype(np.float32)
    return np.stack([wide, 0.9 * np.roll(wide, 22)], axis=1)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_stereo_speech_gives_the_same_samples_as_before(speech, rate):
    samples = stereo(speech[:5 * 16000], rate)
    expected = straightforward(samples, rate)
    out = to_mono_16k(samples.copy(), rate)
    assert out.dtype == np.float32 and out.ndim == 1 and out.flags.c_contiguous
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


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


def test_odd_rates_are_interpolated_to_float32(speech):
    out = to_mono_16k(speech[:44101, None].copy(), 44101)
    assert out.dtype == np.float32 and abs(len(out) - 16000) <= 1


def test_the_filter_is_designed_once_per_rate_pair_and_is_scipys_own(speech):
    taps = asr_audio._polyphase_filter(160, 441)
    assert asr_audio._polyphase_filter(160, 441) is taps
    assert not taps.flags.writeable                # shared by every request: nobody may change it
    mono = np.ascontiguousarray(stereo(speech[:16000], 44100)[:, 0])
    np.testing.assert_array_equal(asr_audio._resample(mono, 44100), resample_poly(mono, 160, 441))


def test_decode_of_a_stereo_upload_matches_the_straightforward_way(speech):
    samples = stereo(speech[:3 * 16000], 44100)
    data = wav_bytes(samples, rate=44100)
    as_read, _rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    audio = asr_audio.decode(data, 600)
    # Decoded block by block: equal to the one-shot way to float32 rounding.
    np.testing.assert_allclose(audio.samples, straightforward(as_read, 44100), atol=1e-6)
    assert (audio.source_rate, audio.source_channels) == (44100, 2)
