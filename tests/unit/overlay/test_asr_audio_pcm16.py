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


def test_extensible_wavs_go_to_libsndfile(speech):
    extensible = _wav(speech[:16000], 16000)
    extensible = extensible[:20] + struct.pack("<H", 0xFFFE) + extensible[22:]
    assert asr_audio._pcm16(extensible) is None


def _streamed(data: bytes, placeholder: int) -> bytes:
    out = bytearray(data)
    pos = out.index(b"data")
    out[pos + 4:pos + 8] = struct.pack("<I", placeholder)
    return bytes(out)


@pytest.mark.parametrize("placeholder", [0, 0x7FFFF000, 0xFFFFFFFF])
def test_streamed_16_bit_wavs_are_read_to_the_end_of_the_file(speech, placeholder):
    """Streaming writers cannot know the length (some recorders write 0): the samples run to the end."""
    plain = _wav(speech, 16000)
    data = _streamed(plain, placeholder)
    header = asr_audio.check(data, 1440)
    assert header.pcm16_offset is not None and header.frames == len(speech)
    assert np.array_equal(asr_audio.decode(data, 1440, None, header).samples, asr_audio.decode(plain, 1440).samples)


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_24", "PCM_U8"])
def test_other_streamed_wavs_with_a_zero_size_are_read_to_the_end_too(speech, subtype):
    """libsndfile reads a 0 data size as no samples (it reads 0xFFFFFFFF to the end)."""
    plain = _wav(speech[:len(speech) // 2 * 2], 16000, subtype)   # even: no pad byte read as a sample
    decoded = asr_audio.decode(_streamed(plain, 0), 1440)
    assert np.array_equal(decoded.samples, asr_audio.decode(plain, 1440).samples)


def test_a_streamed_wav_without_samples_is_still_empty(speech):
    header_only = _streamed(_wav(speech[:0], 16000), 0)
    with pytest.raises(asr_audio.AudioError) as info:
        asr_audio.decode(header_only, 1440)
    assert (info.value.code, str(info.value)) == ("empty_audio", "the wav file holds no audio samples")


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
