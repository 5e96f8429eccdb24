"""The 16-bit PCM WAV fast path gives libsndfile's samples, and only takes what it can read."""
from __future__ import annotations

import dataclasses
import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

import asr_audio

AUDIO = Path(__file__).resolve().parents[3] / "files" / "audio"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return np.concatenate([sf.read(AUDIO / f"{n}.wav", dtype="float32")[0] for n in ("single_speaker", "two_speakers")])


def _wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16", **kwargs) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype=subtype, **kwargs)
    return buf.getvalue()


def _by_libsndfile(data: bytes) -> np.ndarray:
    header = asr_audio.check(data, 1440)
    return asr_audio.decode(data, 1440, None, dataclasses.replace(header, pcm16_offset=None)).samples


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (8000, 1), (48000, 3)])
def test_same_samples_as_libsndfile(speech, rate, channels):
    wide = resample_poly(speech, rate, 16000).astype(np.float32) if rate != 16000 else speech
    samples = np.stack([wide * (0.9 ** c) for c in range(channels)], axis=1)
    data = _wav(samples, rate)
    header = asr_audio.check(data, 1440)
    assert header.pcm16_offset is not None and (header.rate, header.channels) == (rate, channels)
    assert header.frames == len(wide)
    fast = asr_audio.decode(data, 1440, None, header)
    assert fast.samples.dtype == np.float32
    assert np.array_equal(fast.samples, _by_libsndfile(data))


def test_real_fixture_is_read_without_libsndfile_and_unchanged():
    data = (AUDIO / "single_speaker.wav").read_bytes()
    header = asr_audio.check(data, 1440)
    assert header.pcm16_offset is not None and header.cheap()
    reference, _rate = sf.read(AUDIO / "single_speaker.wav", dtype="float32")
    assert np.array_equal(asr_audio.decode(data, 1440).samples, np.clip(reference, -1, 1))


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_32", "FLOAT", "PCM_U8"])
def test_other_sample_formats_go_to_libsndfile(speech, subtype):
    data = _wav(speech[:16000], 16000, subtype)
    header = asr_audio.check(data, 1440)
    assert header.pcm16_offset is None and not header.cheap()
    assert len(asr_audio.decode(data, 1440).samples) == 16000


def test_a_chunk_before_the_data_is_skipped(speech):
    plain = _wav(speech[:16000], 16000)
    # A LIST chunk of odd length (padded) between fmt and data, as recorders write.
    fmt_end = 12 + 8 + int.from_bytes(plain[16:20], "little")
    extra = b"LIST" + struct.pack("<I", 5) + b"INFO!" + b"\0"
    data = bytearray(plain[:fmt_end] + extra + plain[fmt_end:])
    data[4:8] = struct.pack("<I", len(data) - 8)
    data = bytes(data)
    header = asr_audio.check(data, 1440)
    assert header.pcm16_offset is not None and header.frames == 16000
    assert np.array_equal(asr_audio.decode(data, 1440).samples, _by_libsndfile(data))


def test_extensible_and_streamed_wavs_go_to_libsndfile(speech):
    extensible = _wav(speech[:16000], 16000)
    extensible = extensible[:20] + struct.pack("<H", 0xFFFE) + extensible[22:]
    assert asr_audio._pcm16(extensible) is None
    streamed = bytearray(_wav(speech[:16000], 16000))
    pos = streamed.index(b"data")
    streamed[pos + 4:pos + 8] = struct.pack("<I", 0xFFFFFFFF)
    header = asr_audio.check(bytes(streamed), 1440)
    assert header.pcm16_offset is None
    assert len(asr_audio.decode(bytes(streamed), 1440).samples) == 16000


def test_the_limits_are_checked_from_the_parsed_header(speech):
    data = _wav(np.tile(speech, 2)[:16000 * 12], 16000)
    with pytest.raises(asr_audio.AudioError) as too_long:
        asr_audio.check(data, 10)
    assert too_long.value.status == 413 and too_long.value.code == "audio_too_long"
    with pytest.raises(asr_audio.AudioError) as too_big:
        asr_audio.check(data, 1440, max_source_samples=16000 * 5)
    assert too_big.value.code == "audio_too_large"
    bad_rate = bytearray(_wav(speech[:1600], 16000))
    bad_rate[24:28] = struct.pack("<I", 1000)
    with pytest.raises(asr_audio.AudioError) as low:
        asr_audio.check(bytes(bad_rate), 1440)
    assert low.value.code == "bad_sample_rate"


def test_only_short_16k_wavs_are_cheap(speech):
    assert asr_audio.check(_wav(speech[:16000 * 10], 16000), 1440).cheap()
    assert not asr_audio.check(_wav(np.tile(speech, 3)[:16000 * 30], 16000), 1440).cheap()    # long
    assert not asr_audio.check(_wav(resample_poly(speech[:16000], 441, 160), 44100), 1440).cheap()  # resampled
