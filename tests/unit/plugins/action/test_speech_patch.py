"""The speech_patch action plugin: digests first, bytes only for what differs, under the host lock."""
from __future__ import annotations

import base64
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleError

from ansible_collections.spark_control.audio.plugins.action.speech_patch import ActionModule


def make_action(args: dict, files_root, differs=("main.py",)) -> tuple[ActionModule, list]:
    """An action whose module answers like speech_patch: ``differs`` are the files the container lacks."""
    task = MagicMock()
    task.args = {"lock_dir": str(files_root / "locks"), **args}
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
        sent.append((module_name, dict(module_args)))
        overlay = module_args.get("_overlay") or []
        needed = [f["name"] for f in overlay if f["name"] in differs and "content" not in f]
        if needed:
            return {"changed": False, "needs_content": needed, "notes": ["first pass note"]}
        return {"changed": bool(differs), "invocation": {"module_args": dict(module_args)}}

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


def test_a_change_sends_digests_then_the_bytes_of_what_differs(root):
    action, sent = make_action({"container": "box", "src": "patches",
                                "verify": {"url": "http://x", "audio": "audio.wav", "text": "hi"}}, root)
    result = action.run(task_vars={"inventory_hostname": "spark2"})
    assert [name for name, _unused in sent] == ["spark_control.audio.speech_patch"] * 2
    first, second = sent[0][1], sent[1][1]
    assert {f["name"] for f in first["_overlay"]} == {"main.py", "warmup.wav"}
    assert all("content" not in f for f in first["_overlay"]) and "_verify_audio" not in first
    sent_bytes = {f["name"]: f.get("content") for f in second["_overlay"]}
    assert base64.b64decode(sent_bytes["main.py"]) == b"print('patched')\n" and sent_bytes["warmup.wav"] is None
    assert base64.b64decode(second["_verify_audio"]) == b"RIFFspeech"
    assert second["_max_diff_size"] > 0 and "lock_dir" not in second
    shown = result["invocation"]["module_args"]
    assert all("content" not in f for f in shown["_overlay"])
    assert "bytes" in shown["_verify_audio"]
    assert result["warnings"] == ["(first pass) first pass note"]
    assert result["lock_file"].endswith("spark2.lock") and result["lock_wait"] >= 0


def test_a_no_op_is_one_small_call(root):
    action, sent = make_action({"container": "box", "src": "patches",
                                "verify": {"url": "http://x", "audio": "audio.wav", "text": "hi"}}, root, differs=())
    result = action.run(task_vars={})
    assert len(sent) == 1 and "_verify_audio" not in sent[0][1] and not result["changed"]
    assert all("content" not in f for f in sent[0][1]["_overlay"])


def test_a_speech_check_on_every_run_sends_the_clip_with_the_first_call(root):
    action, sent = make_action({"container": "box", "src": "patches",
                                "verify": {"url": "http://x", "audio": "audio.wav", "text": "hi", "when": "always"}},
                               root, differs=())
    action.run(task_vars={})
    assert len(sent) == 1 and base64.b64decode(sent[0][1]["_verify_audio"]) == b"RIFFspeech"


def test_an_empty_exclude_list_is_honoured_on_the_controller(root):
    (root / "patches" / ".version").write_text("1\n")
    action, sent = make_action({"container": "box", "src": "patches", "exclude": []}, root, differs=())
    action.run(task_vars={})
    assert ".version" in {f["name"] for f in sent[0][1]["_overlay"]}
    action, sent = make_action({"container": "box", "src": "patches"}, root, differs=())
    action.run(task_vars={})
    assert ".version" not in {f["name"] for f in sent[0][1]["_overlay"]}


def test_the_host_lock_is_held_during_the_run(root):
    from ansible_collections.spark_control.audio.plugins.plugin_utils._host_lock import LockTimeout, host_lock

    action, sent = make_action({"container": "box", "src": "patches", "lock_timeout": 0.3}, root, differs=())
    with host_lock(str(root / "locks"), "spark2", 5):
        result = action.run(task_vars={"inventory_hostname": "spark2"})
    assert result["failed"] and "lock of audio host spark2" in result["msg"] and sent == []
    assert issubclass(LockTimeout, Exception)


def test_file_list_resolution(root):
    files = ["patches/main.py", {"src": "patches/warmup.wav", "name": "w.wav"}]
    action, sent = make_action({"container": "box", "files": files}, root)
    action.run(task_vars={})
    assert [f["name"] for f in sent[0][1]["_overlay"]] == ["main.py", "w.wav"]


@pytest.mark.parametrize("args, message", [
    ({"src": "nope"}, "overlay source folder nope does not exist on the controller"),
    ({"files": ["patches/nope.py"]}, "overlay file patches/nope.py does not exist"),
    ({"src": "patches", "verify": {"url": "u", "audio": "no.wav", "text": "t"}}, "verify.audio no.wav cannot be read"),
    ({"src": "patches", "lock_timeout": "abc"}, "lock_timeout='abc' is not a number of seconds"),
    ({"src": "patches", "max_file_size": 4}, "main.py is 17 bytes, more than max_file_size (4)"),
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


# -- the real module behind the action plugin --------------------------------------
@pytest.fixture
def real(root, tmp_path, monkeypatch):
    """The action plugin calling the real module in this process, on a "host" whose cwd is not the controller's
    files folder, against an in-memory container and a real local speech service."""
    import contextlib
    import io
    import json
    import os

    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.spark_control.audio.plugins.modules import speech_patch
    from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import (
        REFERENCE, SPEECH, FakeClient, FakeContainer, FakeService)

    service = FakeService()
    box = FakeContainer({"main.py": b"stock"}, service=service)
    monkeypatch.setattr(speech_patch, "connect", lambda params: FakeClient(box))
    (root / "audio.wav").write_bytes(SPEECH)
    host = tmp_path / "host"
    host.mkdir()

    def run(**extra):
        args = {"container": "parakeet-asr", "src": "patches", "backup_dir": str(host / "b"),
                "ready_url": service.url + "/ready",
                "verify": {"url": service.url + "/t", "audio": "audio.wav", "text": REFERENCE}, **extra}
        action, sent = make_action(args, root)

        def execute(module_name, module_args, task_vars):
            sent.append((module_name, dict(module_args)))
            out, cwd = io.StringIO(), os.getcwd()
            os.chdir(host)  # the module runs on the managed host, where audio.wav is no path
            try:
                with patch_module_args(module_args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
                    speech_patch.main()
            finally:
                os.chdir(cwd)
            return json.loads(out.getvalue())

        action._execute_module = execute
        return action.run(task_vars={"inventory_hostname": "spark2"}), [a for _name, a in sent]

    yield run, box, service
    service.close()


def test_the_verify_clip_comes_from_the_controller_and_only_when_a_check_needs_it(real):
    run, box, service = real
    applied, calls = run()
    assert not applied.get("failed"), applied.get("msg")
    assert applied["status"] == "applied" and applied["verification"]["passed"] and len(calls) == 2
    assert "_verify_audio" not in calls[0] and calls[1]["_verify_audio"]
    noop, calls = run()
    assert noop["status"] == "current" and not noop["changed"] and len(calls) == 1 and "_verify_audio" not in calls[0]


def test_an_activation_in_the_first_call_asks_for_the_clip(real):
    """Files an earlier restart=false run wrote: nothing to send, but the restart is checked with the clip."""
    run, box, service = real
    assert run(restart=False)[0]["status"] == "applied" and box.restarts == 0
    service.transcriptions = 0
    activated, calls = run()
    assert not activated.get("failed"), activated.get("msg")
    assert activated["status"] == "applied" and activated["restarted"] and activated["verification"]["passed"]
    assert len(calls) == 2 and "_verify_audio" not in calls[0] and calls[1]["_verify_audio"]
    assert box.restarts == 1 and service.transcriptions == 1


def test_list_options_given_as_strings_are_split_as_the_module_splits_them(root):
    (root / "patches" / "tests").mkdir()
    (root / "patches" / "README.md").write_text("notes\n")
    action, sent = make_action({"container": "box", "src": "patches", "exclude": "tests,*.md"}, root, differs=())
    result = action.run(task_vars={})
    assert not result.get("failed"), result.get("msg")
    assert sorted(f["name"] for f in sent[0][1]["_overlay"]) == ["main.py", "warmup.wav"]
    action, sent = make_action({"container": "box", "files": "patches/main.py"}, root, differs=())
    result = action.run(task_vars={})
    assert not result.get("failed"), result.get("msg")
    assert [f["name"] for f in sent[0][1]["_overlay"]] == ["main.py"]
    action, sent = make_action({"container": "box", "src": "patches", "exclude": {"a": 1}}, root, differs=())
    result = action.run(task_vars={})
    assert result["failed"] and result["msg"] == "exclude must be a list (or a comma-separated string), got {'a': 1}"


def test_a_container_that_changes_between_the_two_calls_fails_clearly(root):
    action, sent = make_action({"container": "box", "src": "patches"}, root)
    # The second call, bytes of main.py included, still finds a file it lacks (someone else patched meanwhile).
    answers = iter([{"changed": False, "needs_content": ["main.py"], "container": "box"},
                    {"changed": False, "needs_content": ["warmup.wav"], "container": "box"}])
    action._execute_module = lambda module_name, module_args, task_vars: sent.append(module_args) or next(answers)
    result = action.run(task_vars={"inventory_hostname": "spark2"})
    assert len(sent) == 2 and result["failed"] and not result["changed"]
    assert "files of box changed while this task ran (now warmup.wav also differ): nothing was written" in result["msg"]
