# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Is this real speech? The guard in front of every audio probe.

Private to this collection. Silence, tones and other non-speech produce zero
tokens and skip the decoder paths where GPU failures live, so a health check
fed with them passes while real speech would fail. ``inspect`` classifies
audio cheaply first (level, then spectral concentration) and runs the voice
activity detector last; the same call judges TTS output.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._health import vad
from ansible_collections.spark_control.audio.plugins.module_utils._health.wav import (
    WavError, np, read_wav, to_16k)

MIN_DURATION = 0.5  # seconds
SILENCE_PEAK_DBFS = -40.0
TONE_CONCENTRATION = 0.9  # share of power in the strongest 0.5% of frequency bins
MIN_SPEECH_SECONDS = 1.0
_SPECTRUM_SECONDS = 10  # enough signal to tell a tone from speech

WHY = ("health checks need real speech: silence and tones produce zero tokens and skip "
       "the decoder paths where failures live")


@dataclass
class AudioVerdict:
    """``kind`` is speech, silence, tone, not_speech, too_short or unreadable."""

    kind: str
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def is_speech(self) -> bool:
        return self.kind == "speech"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dbfs(value: float) -> float:
    return round(20 * math.log10(value), 1) if value > 0 else -120.0


def _concentration(samples) -> float:
    part = samples[:16000 * _SPECTRUM_SECONDS].astype(np.float64)
    power = np.abs(np.fft.rfft(part * np.hanning(part.size))) ** 2
    total = power.sum()
    if total <= 0:
        return 0.0
    top = max(1, power.size // 200)
    return float(np.partition(power, power.size - top)[-top:].sum() / total)


def inspect(data: bytes, min_speech: float = MIN_SPEECH_SECONDS) -> AudioVerdict:
    """Classify WAV bytes; never raises for bad audio (the verdict says why)."""
    try:
        wav = read_wav(data)
    except WavError as exc:
        return AudioVerdict("unreadable", str(exc))
    metrics: dict[str, Any] = {"duration": round(wav.duration, 3), "rate": wav.rate, "channels": wav.channels}
    if wav.duration < MIN_DURATION:
        return AudioVerdict("too_short", f"it lasts {wav.duration:.2f} s, less than {MIN_DURATION} s", metrics)
    samples = to_16k(wav.samples, wav.rate)
    peak = float(np.max(np.abs(samples)))
    metrics["peak_dbfs"] = _dbfs(peak)
    metrics["rms_dbfs"] = _dbfs(float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))))
    if metrics["peak_dbfs"] < SILENCE_PEAK_DBFS:
        return AudioVerdict("silence", f"it is silence (peak {metrics['peak_dbfs']} dBFS)", metrics)
    metrics["tonality"] = round(_concentration(samples), 3)
    if metrics["tonality"] >= TONE_CONCENTRATION:
        return AudioVerdict("tone", f"it is a tone, not speech ({metrics['tonality']:.0%} of its power "
                                    "sits in a few frequencies)", metrics)
    metrics["speech_seconds"] = round(vad.speech_seconds(samples, enough=min_speech), 2)
    if metrics["speech_seconds"] < min_speech:
        return AudioVerdict("not_speech", f"the voice activity detector finds {metrics['speech_seconds']} s "
                                          f"of speech in it, less than {min_speech} s", metrics)
    return AudioVerdict("speech", "real speech", metrics)
