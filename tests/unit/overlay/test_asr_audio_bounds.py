"""Decoding is bounded by what it produces: source samples are capped from the
header (413 naming the setting), and the file is decoded in blocks, so memory
follows the 16 kHz mono output, not the source's rate and channels."""
from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import soxr

import asr_audio
from decode_bombs import silent_flac


def test_source_samples_over_the_cap_are_refused_from_the_header(monkeypatch):
    bomb = silent_flac(60)                                   # 60 s x 96 kHz x 2 = 11.5 M samples, ~25 KB
    assert len(bomb) < 100_000

    def never(*_args):
        raise AssertionError("decoded although the header is over the cap")

    monkeypatch.setattr(asr_audio, "_decode_blocks", never)
    with pytest.raises(asr_audio.AudioError) as info:
        asr_audio.decode(bomb, max_seconds=1440, max_source_samples=10_000_000)
    err = info.value
    assert (err.status, err.code) == (413, "audio_too_large")
    assert "ASR_MAX_SOURCE_MSAMPLES" in str(err) and "2 channels" in str(err) and "96000 Hz" in str(err)


def test_a_header_that_does_not_know_its_length_is_capped_while_decoding():
    """Streamed WAV (placeholder data size): the count is checked block by block."""
    buf = io.BytesIO()
    sf.write(buf, np.zeros((48000 * 8, 2), np.float32), 48000, format="WAV", subtype="PCM_16")
    data = bytearray(buf.getvalue())
    at = data.index(b"data") + 4
    data[at:at + 4] = (0xFFFFFFFF).to_bytes(4, "little")
    with pytest.raises(asr_audio.AudioError) as info:
        asr_audio.decode(bytes(data), max_seconds=1440, max_source_samples=200_000)
    assert (info.value.status, info.value.code) == (413, "audio_too_large")


def test_under_the_cap_decodes_as_before():
    audio = asr_audio.decode(silent_flac(20), max_seconds=1440, max_source_samples=10_000_000)
    assert (audio.source_rate, audio.source_channels, len(audio.samples)) == (96000, 2, 20 * 16000)


def test_peak_memory_follows_the_output_not_the_source():
    """60 s of 96 kHz stereo is 46 MB as float32 at once; decoded in blocks the
    peak stays within a few copies of the 3.8 MB 16 kHz mono output."""
    bomb = silent_flac(60)
    tracemalloc.start()
    try:
        audio = asr_audio.decode(bomb, max_seconds=1440)
        _unused, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output = audio.samples.nbytes
    assert output == 60 * 16000 * 4
    assert peak < 4 * output, f"decode peak {peak / 1e6:.1f} MB for a {output / 1e6:.1f} MB output"


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 44101, 48000, 96000])
def test_block_decoding_equals_resampling_the_whole_signal(rate):
    """Blocks go through one streaming resampler, whose result is the
    one-shot resample of the whole mix (noise: every sample matters)."""
    noise = (np.random.default_rng(rate).standard_normal((int(rate * 5.3), 2)) * 0.2).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, noise, rate, format="WAV", subtype="FLOAT")
    got = asr_audio.decode(buf.getvalue(), 60).samples
    mix = noise.mean(axis=1, dtype=np.float32)
    whole = mix if rate == 16000 else soxr.resample(mix, rate, 16000, quality="HQ")
    whole = np.clip(whole, -1.0, 1.0)
    assert got.dtype == np.float32 and len(got) == len(whole)
    assert float(np.abs(got - whole).max()) < 1e-6
