"""The audio_health action plugin: options checked on the controller before anything is read or locked."""
from __future__ import annotations

import hashlib
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleError

from ansible_collections.spark_control.audio.plugins.action.audio_health import SHIPPED_OVERLAY, ActionModule, expected_overlay

AUDIO = Path(__file__).resolve().parents[4] / "files" / "audio"


def make_action(args: dict, tmp_path) -> tuple[ActionModule, list]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    sent = []

    def find_needle(kind, path):
        if not Path(path).exists():
            raise AnsibleError(f"Could not find or access '{path}'")
        return str(path)

    def execute(module_name, module_args, task_vars):
        sent.append((module_name, module_args))
        return {"changed": False, "healthy": True, "invocation": {"module_args": dict(module_args)}}

    action._find_needle = find_needle
    action._execute_module = execute
    return action, sent


def run(args: dict, tmp_path) -> tuple[dict, list]:
    action, sent = make_action({"lock_dir": str(tmp_path / "locks")} | args, tmp_path)
    return action.run(task_vars={"inventory_hostname": "spark2"}), sent


def speech_copy(tmp_path, name: str = "talk") -> Path:
    wav = tmp_path / f"{name}.wav"
    wav.write_bytes((AUDIO / "single_speaker.wav").read_bytes())
    return wav


def test_bare_paths_are_allowed_for_audio_files_and_diarization_file(tmp_path):
    wav = speech_copy(tmp_path)
    (tmp_path / "talk.txt").write_text("Good morning everyone.\n")
    result, sent = run({"audio_files": [str(wav)], "diarization_file": str(wav)}, tmp_path)
    assert not result.get("failed"), result
    (_name, args), = sent
    assert args["audio_files"] == [{"path": str(wav), "reference": "Good morning everyone.", "name": None}]
    assert args["diarization_file"]["path"] == str(wav)
    assert str(wav) in args["_audio"]


def _nonutf8(tmp_path) -> dict:
    wav = speech_copy(tmp_path, "latin")
    (tmp_path / "latin.txt").write_bytes("Caf\u00e9 au lait".encode("latin-1"))
    return {"audio_files": [str(wav)]}


def _empty_reference(tmp_path) -> dict:
    wav = speech_copy(tmp_path, "empty")
    (tmp_path / "empty.txt").write_text("  \n")
    return {"audio_files": [str(wav)]}


def _bad_speakers(tmp_path) -> dict:
    wav = speech_copy(tmp_path, "meeting")
    (tmp_path / "meeting.json").write_text('{"speakers": "two"}')
    return {"diarization_file": str(wav)}


BAD = {
    "audio_files element a number": (
        {"audio_files": [5]},
        "audio_files[0] must be a path or a mapping with path (and reference, name), got 5 (int)"),
    "diarization_file a number": (
        {"diarization_file": 5},
        "diarization_file must be a path or a mapping with path (and speakers, name), got 5 (int)"),
    "lock_timeout not a number": (
        {"lock_timeout": "abc"},
        "argument 'lock_timeout' is of type str and we were unable to convert to float: "
        "<class 'str'> cannot be converted to a float"),
    "lock_timeout negative": ({"lock_timeout": -1}, "lock_timeout must be at least 0, got -1"),
    "timeout zero": ({"timeout": 0}, "timeout must be greater than 0, got 0"),
    "min_speech_seconds negative": (
        {"min_speech_seconds": -1}, "min_speech_seconds must be greater than 0, got -1"),
    "audio_files entry without a path": (
        {"audio_files": [{"reference": "hello"}]},
        "missing required arguments: path found in audio_files"),
    "unknown suboption": (
        {"audio_files": [{"path": "a.wav", "text": "hello"}]},
        "Unsupported parameters for audio_health: audio_files.text. Supported parameters include: name, path, "
        "reference."),
    "unknown option": (
        {"audio_file": "a.wav"},
        "Unsupported parameters for audio_health: audio_file. Supported parameters include: _audio, api_token, "
        "audio_files,"),
    "probe that does not exist": (
        {"probes": ["stt", "latency"]},
        "value of probes must be one or more of: liveness, catalogue, overlay, stt, diarization, tts. "
        "Got no match for: latency"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_options_are_refused_before_the_lock_and_the_module(tmp_path, case):
    args, message = BAD[case]
    result, sent = run(args, tmp_path)
    assert result["failed"] and not result["changed"]
    assert message in result["msg"], result["msg"]
    assert sent == [] and not (tmp_path / "locks").exists()


FILE_PROBLEMS = {
    "reference file not UTF-8": (
        _nonutf8, "reference file {tmp}/latin.txt is not UTF-8 text (byte 0xe9 at offset 3: invalid continuation "
                  "byte): save it as UTF-8"),
    "reference file empty": (
        _empty_reference, "reference file {tmp}/empty.txt is empty: write the words spoken in {tmp}/empty.wav "
                          "into it, or remove it to only require a non-empty transcript"),
    "speaker file without an integer": (
        _bad_speakers, "{tmp}/meeting.json should be JSON with a positive integer 'speakers' key (the speakers "
                       "in {tmp}/meeting.wav)"),
    "audio file missing": (
        lambda tmp: {"audio_files": [str(tmp / "gone.wav")]},
        "test audio {tmp}/gone.wav does not exist on the controller"),
}


@pytest.mark.parametrize("case", list(FILE_PROBLEMS))
def test_unreadable_controller_files_are_named(tmp_path, case):
    make, message = FILE_PROBLEMS[case]
    result, sent = run(make(tmp_path), tmp_path)
    assert result["failed"] and sent == []
    assert message.format(tmp=tmp_path) in result["msg"], result["msg"]


def test_the_expected_overlay_is_every_shipped_file_by_digest():
    expected = expected_overlay(SHIPPED_OVERLAY)
    assert "main.py" in expected and "warmup.wav" in expected
    with open(f"{SHIPPED_OVERLAY}/main.py", "rb") as handle:
        assert expected["main.py"] == hashlib.sha256(handle.read()).hexdigest()
    assert not any(name.endswith(".pyc") or name.startswith(".") for name in expected)
