"""The input guard: real speech passes, silence, tones and noise are refused."""
from __future__ import annotations

import numpy as np
import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._health.audio_guard import inspect
from ansible_collections.spark_control.audio.plugins.module_utils._health.wav import read_wav, to_16k

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import fixture, noise, silence, tone, wav_bytes


@pytest.mark.parametrize("name", ["single_speaker", "two_speakers"])
def test_real_speech_fixtures_pass(name):
    verdict = inspect(fixture(name)[0])
    assert verdict.kind == "speech", verdict.message
    assert verdict.metrics["speech_seconds"] >= 1.0


def test_speech_at_another_rate_and_in_stereo_passes():
    data, _unused = fixture("single_speaker")
    mono = read_wav(data).samples
    upsampled = np.interp(np.arange(int(mono.size * 1.5)) / 1.5, np.arange(mono.size), mono)
    stereo = np.repeat(upsampled[:, None], 2, axis=1).ravel()
    verdict = inspect(wav_bytes(stereo, 24000, channels=2))
    assert verdict.kind == "speech", verdict.message
    assert verdict.metrics["rate"] == 24000 and verdict.metrics["channels"] == 2


@pytest.mark.parametrize("audio, kind, words", [
    (silence(), "silence", "silence"),
    (tone(440), "tone", "tone"),
    (tone(1000), "tone", "tone"),
    (noise(), "not_speech", "voice activity detector"),
    (silence(0.2), "too_short", "less than 0.5 s"),
    (b"ID3\x03 not a wav at all", "unreadable", "not a WAV"),
    (b"", "unreadable", "empty"),
])
def test_non_speech_is_refused_with_a_reason(audio, kind, words):
    verdict = inspect(audio)
    assert verdict.kind == kind
    assert not verdict.is_speech
    assert words in verdict.message


def test_quiet_speech_is_not_mistaken_for_silence():
    data, _unused = fixture("single_speaker")
    quiet = wav_bytes(read_wav(data).samples * 0.05)
    assert inspect(quiet).kind == "speech"


def test_truncated_wav_is_readable_up_to_its_end():
    data, _unused = fixture("single_speaker")
    assert read_wav(data[:20000]).duration > 0.5


def test_resampling_keeps_duration():
    samples = np.zeros(24000, dtype=np.float32)
    assert to_16k(samples, 24000).size == 16000
    assert to_16k(samples, 16000) is samples
