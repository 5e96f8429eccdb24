# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read WAV bytes into mono float samples (RIFF chunks parsed here + numpy).

Private to this collection. ``read_wav`` takes what the STT overlay takes
from a RIFF WAV: PCM of 8, 16, 24 or 32 bits and IEEE float of 32 or 64
bits, with the plain or the WAVE_FORMAT_EXTENSIBLE header (stdlib ``wave``
reads only plain PCM before Python 3.12), and streamed files whose data
size is a placeholder. It raises ``WavError`` with a message that says what
is wrong with the file; ``to_16k`` resamples for the voice activity
detector, which only takes 16 kHz.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from ansible_collections.spark_control.audio.plugins.module_utils import _deps

np = _deps.optional("numpy")

VAD_RATE = 16000
PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
# WAVE_FORMAT_EXTENSIBLE names its format in a GUID: the format tag, then these 14 bytes.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
# (format, bits per sample) -> numpy type of a sample read from the file, and its full scale.
_DTYPES = {(PCM, 8): ("u1", 128.0), (PCM, 16): ("<i2", 32768.0), (PCM, 24): ("<i4", 2.0 ** 31),
           (PCM, 32): ("<i4", 2.0 ** 31), (FLOAT, 32): ("<f4", 1.0), (FLOAT, 64): ("<f8", 1.0)}
_ASK = "give 16-bit PCM WAV"


class WavError(Exception):
    """The bytes are not a WAV file this module can read."""


@dataclass
class Wav:
    samples: "np.ndarray"  # mono float32 in [-1, 1]
    rate: int
    channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def _streamed(size: int) -> bool:
    """Streaming writers put a placeholder in the data size (0, 0xFFFFFFFF, 0x7FFFF000): the samples run to the
    end of the file (the overlay's asr_audio reads them the same way)."""
    return size in (0, 0xFFFFFFFF) or size >= 0x7FFF0000


def _chunks(data: bytes):
    """(chunk id, offset of its body, declared size) of each RIFF chunk after the header; odd sizes are padded."""
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        yield data[pos:pos + 4], pos + 8, size
        pos += 8 + size + (size & 1)


def _decode(fmt: bytes, frames: bytes) -> Wav:
    if len(fmt) < 16:
        raise WavError(f"unreadable WAV (its fmt chunk holds {len(fmt)} bytes, fewer than 16); {_ASK}")
    tag, channels, rate, _rate_bytes, block, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == EXTENSIBLE and len(fmt) >= 40 and fmt[26:40] == _GUID_TAIL:
        tag = int.from_bytes(fmt[24:26], "little")
    if (tag, bits) not in _DTYPES:
        kind = {PCM: "PCM", FLOAT: "float"}.get(tag, f"format {tag:#06x}")
        raise WavError(f"{bits}-bit {kind} samples are not supported; {_ASK}")
    if channels < 1 or rate < 1 or block != channels * bits // 8:
        raise WavError(f"unreadable WAV (its fmt chunk gives {channels} channel(s) at {rate} Hz and {bits}-bit "
                       f"samples in {block}-byte frames); {_ASK}")
    # A file cut short is read up to its end, like stdlib wave did.
    frames = frames[:len(frames) - len(frames) % block]
    dtype, scale = _DTYPES[(tag, bits)]
    if bits == 24:  # three bytes a sample: a zero byte below each makes a little-endian int32 of 256 times it
        raw = np.pad(np.frombuffer(frames, "u1").reshape(-1, 3), ((0, 0), (1, 0))).view(dtype).ravel()
    else:
        raw = np.frombuffer(frames, dtype)
    samples = raw.astype(np.float32)
    if tag == FLOAT and not np.isfinite(samples).all():  # integers are always finite; the overlay refuses these
        raise WavError(f"the WAV holds NaN or infinite samples; {_ASK}")
    if bits == 8:
        samples -= 128.0
    if scale != 1.0:
        samples /= np.float32(scale)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if tag == FLOAT:  # integers are in range; float samples may go past full scale
        samples = np.clip(samples, -1.0, 1.0)
    return Wav(samples.astype(np.float32, copy=False), rate, channels)


def read_wav(data: bytes) -> Wav:
    if not data:
        raise WavError("the file is empty")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"not a WAV file (starts with {data[:12]!r}); {_ASK}")
    fmt = None
    for chunk, body, size in _chunks(data):
        if chunk == b"fmt ":
            fmt = data[body:body + size]
        elif chunk == b"data":
            if fmt is None:
                raise WavError(f"unreadable WAV (no fmt chunk before its data); {_ASK}")
            return _decode(fmt, data[body:] if _streamed(size) else data[body:body + size])
    raise WavError(f"unreadable WAV (no {'data' if fmt else 'fmt'} chunk); {_ASK}")


def to_16k(samples: "np.ndarray", rate: int) -> "np.ndarray":
    """Linear-interpolation resampling: enough for voice activity detection."""
    if rate == VAD_RATE or samples.size == 0:
        return samples
    count = int(samples.size * VAD_RATE / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / VAD_RATE)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)
