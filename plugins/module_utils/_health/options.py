# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""audio_health's options: the argument spec and the ranges of its numbers.

Private to this collection. The one declaration of the options (types,
defaults, choices, suboptions) and of their ranges, read by the module and
by its action plugin, which validates the options it reads on the controller
before the module runs. Standard library only: the controller imports it.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import Range

PROBES = ("liveness", "catalogue", "overlay", "stt", "diarization", "tts")
URL_OPTIONS = ("control_url", "stt_url", "tts_url")
# Sortformer diar_sortformer_4spk-v1 tells four speakers apart at most.
DIARIZER_SPEAKERS = 4

FILE_SPEC = {"path": {"type": "path", "required": True}, "reference": {"type": "str"}, "name": {"type": "str"}}
DIARIZATION_SPEC = {"path": {"type": "path", "required": True}, "speakers": {"type": "int"},
                    "name": {"type": "str"}}

ARGUMENT_SPEC: dict[str, Any] = {
    "control_url": {"type": "str", "default": "http://127.0.0.1:9999"},
    "stt_url": {"type": "str"},
    "tts_url": {"type": "str"},
    "via": {"type": "str", "choices": ["auto", "control", "direct"], "default": "auto"},
    "api_token": {"type": "str", "no_log": True},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "stt_model": {"type": "str", "default": "parakeet-tdt-0.6b-v2"},
    "tts_model": {"type": "str", "default": "kokoro"},
    "voices": {"type": "list", "elements": "str", "default": ["af_heart"]},
    "tts_text": {"type": "str", "default": "The quarterly report is ready, and the team will review it on Friday."},
    "audio_files": {"type": "list", "elements": "dict", "options": FILE_SPEC},
    "diarization_file": {"type": "dict", "options": DIARIZATION_SPEC},
    "max_speakers": {"type": "int", "default": DIARIZER_SPEAKERS},
    "wer_threshold": {"type": "float", "default": 0.25},
    "min_speech_seconds": {"type": "float", "default": 1.0},
    # A str, not a path: "~" must mean the home on the audio host, not the controller's (the action plugin
    # validates the options on the controller); Verdicts expands it on the audio host.
    "verdict_cache": {"type": "str", "default": "~/.cache/spark_control/audio_health_verdicts.json"},
    "probes": {"type": "list", "elements": "str", "choices": list(PROBES)},
    "overlay_dir": {"type": "path"},
    "expected_overlay": {"type": "dict"},
    "timeout": {"type": "float", "default": 120},
    "retries": {"type": "int", "default": 5},
    "retry_max_time": {"type": "float", "default": 60},
    "fail_on_unhealthy": {"type": "bool", "default": True},
    # Filled by the action plugin: the test audio read on the controller, base64 with its sha256.
    "_audio": {"type": "dict", "default": {}},
    **LOCK_ARGUMENT_SPEC,
}

RANGES = {
    "timeout": Range(low=0, low_open=True),
    "retries": Range(low=0),
    "retry_max_time": Range(low=0),
    # Zero seconds of speech would let silence and noise past the input guard.
    "min_speech_seconds": Range(low=0, low_open=True),
    "wer_threshold": Range(low=0, high=1),
    "max_speakers": Range(low=1, high=DIARIZER_SPEAKERS),
    "diarization_file.speakers": Range(low=1, high=DIARIZER_SPEAKERS),
    "lock_timeout": Range(low=0),
}
