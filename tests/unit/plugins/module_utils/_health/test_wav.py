"""The guard's WAV reader takes what the STT overlay takes: plain and EXTENSIBLE PCM, float, streamed sizes."""
from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from ansible_collections.spark_control.audio.plugins.module_utils._health.audio_guard import inspect
from ansible_collections.spark_control.audio.plugins.module_utils._health.wav import WavError, read_wav

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import AUDIO, fixture

SPEECH, _TEXT = fixture("single_speaker")


def written(subtype: str, fmt: str = "WAV", channels: int = 1) -> bytes:
    """The single-speaker recording as libsndfile writes it (fmt WAVEX: the EXTENSIBLE header)."""
    samples, rate = sf.read(AUDIO / "single_speaker.wav", dtype="float32")
    if channels > 1:
        samples = np.stack([samples * 0.9 ** c for c in range(channels)], axis=1)
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def libsndfile_mono(data: bytes) -> np.ndarray:
    samples, _rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples.mean(axis=1)


@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_format_the_overlay_takes_reads_as_libsndfile_does(fmt, subtype):
    data = written(subtype, fmt, channels=2)
    wav = read_wav(data)
    assert (wav.rate, wav.channels) == (16000, 2) and wav.samples.dtype == np.float32
    assert np.allclose(wav.samples, libsndfile_mono(data), atol=1e-6)
    assert inspect(data).kind == "speech"


def test_extensible_16_bit_pcm_is_speech_not_unreadable():
    """Python < 3.12's wave refused it: 'unknown format: 65534'."""
    plain = bytearray(SPEECH)
    fmt_at = plain.index(b"fmt ")
    assert int.from_bytes(plain[fmt_at + 4:fmt_at + 8], "little") == 16
    # fmt of 40 bytes: format tag 0xFFFE, cbSize 22, 16 valid bits, mono mask, the PCM subformat GUID.
    body = bytes(plain[fmt_at + 8:fmt_at + 24])
    ext = (struct.pack("<H", 0xFFFE) + body[2:] + struct.pack("<HHI", 22, 16, 4) + struct.pack("<H", 1)
           + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
    data = bytearray(plain[:fmt_at] + b"fmt " + struct.pack("<I", 40) + ext + plain[fmt_at + 24:])
    data[4:8] = struct.pack("<I", len(data) - 8)
    verdict = inspect(bytes(data))
    assert verdict.kind == "speech", verdict.message
    assert np.array_equal(read_wav(bytes(data)).samples, read_wav(SPEECH).samples)


@pytest.mark.parametrize("placeholder", [0, 0x7FFFF000, 0xFFFFFFFF])
def test_a_streamed_data_size_reads_to_the_end_of_the_file(placeholder):
    data = bytearray(SPEECH)
    at = data.index(b"data") + 4
    data[at:at + 4] = struct.pack("<I", placeholder)
    assert np.array_equal(read_wav(bytes(data)).samples, read_wav(SPEECH).samples)


def test_a_chunk_between_fmt_and_data_is_skipped_odd_sizes_padded():
    fmt_end = 12 + 8 + int.from_bytes(SPEECH[16:20], "little")
    data = bytearray(SPEECH[:fmt_end] + b"LIST" + struct.pack("<I", 5) + b"INFO!\0" + SPEECH[fmt_end:])
    data[4:8] = struct.pack("<I", len(data) - 8)
    assert np.array_equal(read_wav(bytes(data)).samples, read_wav(SPEECH).samples)


def _with_fmt(tag: int, bits: int, block: int) -> bytes:
    data = bytearray(SPEECH)
    data[20:22], data[32:34], data[34:36] = struct.pack("<H", tag), struct.pack("<H", block), struct.pack("<H", bits)
    return bytes(data)


@pytest.mark.parametrize("data, message", [
    (_with_fmt(2, 4, 1), "4-bit format 0x0002 samples are not supported; give 16-bit PCM WAV"),
    (_with_fmt(1, 12, 2), "12-bit PCM samples are not supported; give 16-bit PCM WAV"),
    (_with_fmt(3, 16, 2), "16-bit float samples are not supported; give 16-bit PCM WAV"),
    (_with_fmt(1, 16, 3), "unreadable WAV (its fmt chunk gives 1 channel(s) at 16000 Hz and 16-bit samples in "
                          "3-byte frames)"),
    (SPEECH[:12] + SPEECH[36:], "unreadable WAV (no fmt chunk before its data)"),
    (SPEECH[:36], "unreadable WAV (no data chunk)"),
], ids=["adpcm", "12-bit", "16-bit float", "bad block", "no fmt", "no data"])
def test_what_cannot_be_read_is_named(data, message):
    with pytest.raises(WavError) as info:
        read_wav(data)
    assert str(info.value).startswith(message)


def test_float_samples_that_are_not_numbers_are_refused():
    data = bytearray(written("FLOAT"))
    at = data.index(b"data") + 8 + 4000
    data[at:at + 4] = struct.pack("<f", float("nan"))
    with pytest.raises(WavError, match="NaN or infinite"):
        read_wav(bytes(data))
