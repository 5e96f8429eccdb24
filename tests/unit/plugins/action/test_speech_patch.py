"""The speech_patch action plugin ships controller files inside the module arguments."""
from __future__ import annotations

import base64
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleError

from ansible_collections.spark_control.audio.plugins.action.speech_patch import ActionModule


def make_action(args: dict, files_root) -> tuple[ActionModule, list]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    sent = []

    def find_needle(kind, path):
        full = files_root / path if not str(path).startswith("/") else path
        if not full.exists():
            raise AnsibleError(f"Could not find or access '{path}'")
        return str(full)

    def execute(module_name, module_args, task_vars):
        sent.append((module_name, module_args))
        return {"changed": True, "invocation": {"module_args": dict(module_args)}}

    action._find_needle = find_needle
    action._execute_module = execute
    return action, sent


@pytest.fixture
def root(tmp_path):
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "main.py").write_text("print('patched')\n")
    (tmp_path / "patches" / "warmup.wav").write_bytes(b"RIFF\0\1\2")
    (tmp_path / "audio.wav").write_bytes(b"RIFFspeech")
    return tmp_path


def test_folder_and_audio_travel_in_the_arguments_and_are_hidden_from_the_result(root):
    action, sent = make_action({"container": "box", "src": "patches",
                                "verify": {"url": "http://x", "audio": "audio.wav", "text": "hi"}}, root)
    result = action.run(task_vars={})
    name, args = sent[0]
    assert name == "spark_control.audio.speech_patch"
    assert {f["name"] for f in args["_overlay"]} == {"main.py", "warmup.wav"}
    wav = next(f for f in args["_overlay"] if f["name"] == "warmup.wav")
    assert base64.b64decode(wav["content"]) == b"RIFF\0\1\2"
    assert base64.b64decode(args["_verify_audio"]) == b"RIFFspeech"
    assert args["_max_diff_size"] > 0
    shown = result["invocation"]["module_args"]
    assert all("content" not in f for f in shown["_overlay"])
    assert "bytes" in shown["_verify_audio"]


def test_file_list_resolution(root):
    files = ["patches/main.py", {"src": "patches/warmup.wav", "name": "w.wav"}]
    action, sent = make_action({"container": "box", "files": files}, root)
    action.run(task_vars={})
    assert [f["name"] for f in sent[0][1]["_overlay"]] == ["main.py", "w.wav"]


@pytest.mark.parametrize("args, message", [
    ({"src": "nope"}, "overlay source folder nope does not exist on the controller"),
    ({"files": ["patches/nope.py"]}, "overlay file patches/nope.py does not exist"),
    ({"src": "patches", "verify": {"url": "u", "audio": "no.wav", "text": "t"}}, "verify.audio no.wav cannot be read"),
])
def test_controller_errors_fail_before_running_the_module(root, args, message):
    action, sent = make_action({"container": "box", **args}, root)
    result = action.run(task_vars={})
    assert result["failed"] and message in result["msg"] and sent == []


def test_remote_src_and_absent_send_no_content(root):
    action, sent = make_action({"container": "box", "src": "/on/host", "remote_src": True}, root)
    action.run(task_vars={})
    assert "_overlay" not in sent[0][1]
    action, sent = make_action({"container": "box", "state": "absent"}, root)
    action.run(task_vars={})
    assert "_overlay" not in sent[0][1]
