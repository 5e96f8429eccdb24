# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read PCM WAV bytes into mono float samples (stdlib ``wave`` + numpy).

Private to this collection. ``read_wav`` raises ``WavError`` with a message
that says what is wrong with the file; ``to_16k`` resamples for the voice
activity detector, which only takes 16 kHz.
"""
from __future__ import annotations

import io
import wave
from dataclasses import dataclass

from ansible_collections.spark_control.audio.plugins.module_utils import _deps

np = _deps.optional("numpy")

VAD_RATE = 16000
_DTYPES = {1: "u1", 2: "<i2", 4: "<i4"}


class WavError(Exception):
    """The bytes are not a PCM WAV file this module can read."""


@dataclass
class Wav:
    samples: "np.ndarray"  # mono float32 in [-1, 1]
    rate: int
    channels: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


def read_wav(data: bytes) -> Wav:
    if not data:
        raise WavError("the file is empty")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"not a WAV file (starts with {data[:12]!r}); give 16-bit PCM WAV")
    try:
        with wave.open(io.BytesIO(data)) as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise WavError(f"unreadable WAV ({exc}); give 16-bit PCM WAV") from None
    if width not in _DTYPES:
        raise WavError(f"{8 * width}-bit samples are not supported; give 16-bit PCM WAV")
    usable = len(frames) - len(frames) % (width * channels)
    raw = np.frombuffer(frames[:usable], dtype=_DTYPES[width]).astype(np.float32)
    if width == 1:
        raw = (raw - 128.0) / 128.0
    else:
        raw /= float(2 ** (8 * width - 1))
    if channels > 1:
        raw = raw.reshape(-1, channels).mean(axis=1)
    return Wav(raw.astype(np.float32, copy=False), rate, channels)


def to_16k(samples: "np.ndarray", rate: int) -> "np.ndarray":
    """Linear-interpolation resampling: enough for voice activity detection."""
    if rate == VAD_RATE or samples.size == 0:
        return samples
    count = int(samples.size * VAD_RATE / rate)
    positions = np.arange(count, dtype=np.float64) * (rate / VAD_RATE)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)
