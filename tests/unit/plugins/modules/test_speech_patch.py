"""speech_patch module entry point: argument checks and clear failures (no tracebacks)."""
from __future__ import annotations

import base64
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.modules import speech_patch

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import (
    REFERENCE, SPEECH, FakeClient, FakeContainer, FakeService)


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        speech_patch.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def overlay(tmp_path):
    folder = tmp_path / "patches"
    folder.mkdir()
    (folder / "main.py").write_text("print('patched')\n")
    return folder


@pytest.fixture
def fake(monkeypatch):
    service = FakeService()
    box = FakeContainer({"main.py": b"stock"}, service=service)
    monkeypatch.setattr(speech_patch, "connect", lambda params: FakeClient(box))
    yield box, service
    service.close()


def test_remote_src_apply_and_rerun(overlay, fake, tmp_path, capsys):
    box, service = fake
    args = {"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
            "backup_dir": str(tmp_path / "b"), "ready_url": service.url + "/ready", "mode": "0640"}
    first = run_module(args, capsys)
    assert first["changed"] and first["status"] == "applied" and box.files["main.py"]["mode"] == 0o640
    second = run_module(args, capsys)
    assert not second["changed"] and second["status"] == "current"


def test_verify_audio_read_on_the_host(overlay, fake, tmp_path, capsys):
    box, service = fake
    wav = tmp_path / "speech.wav"
    wav.write_bytes(SPEECH)
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                         "backup_dir": str(tmp_path / "b"), "ready_url": service.url + "/ready",
                         "verify": {"url": service.url + "/t", "audio": str(wav), "text": REFERENCE}}, capsys)
    assert result["verification"]["passed"]
    missing = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                          "verify": {"url": service.url + "/t", "audio": str(tmp_path / "no.wav"), "text": "x"}}, capsys)
    assert missing["failed"] and "cannot read verify.audio" in missing["msg"]


@pytest.mark.parametrize("dest", ["/app/../etc", "/etc", "app", "/application"])
def test_destination_outside_allowed_folders_is_refused(overlay, fake, dest, capsys):
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True, "dest": dest}, capsys)
    assert result["failed"] and "dest" in result["msg"] and "exception" not in result
    assert fake[0].calls == []


def test_sub_folder_of_allowed_destination_is_accepted(overlay, fake, tmp_path, capsys):
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                         "dest": "/app/plugins/../plugins", "backup_dir": str(tmp_path / "b")}, capsys)
    assert result["failed"] and "/app/plugins does not exist" in result["msg"]  # allowed, then read


@pytest.mark.parametrize("mode, message", [("rw-r--r--", "not an octal number"), ("17777", "out of range")])
def test_bad_mode(overlay, fake, mode, message, capsys):
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True, "mode": mode}, capsys)
    assert result["failed"] and message in result["msg"]


def test_missing_and_empty_sources(tmp_path, fake, capsys):
    result = run_module({"container": "parakeet-asr", "src": str(tmp_path / "nope"), "remote_src": True}, capsys)
    assert result["failed"] and "does not exist" in result["msg"]
    (tmp_path / "empty").mkdir()
    result = run_module({"container": "parakeet-asr", "src": str(tmp_path / "empty"), "remote_src": True}, capsys)
    assert result["failed"] and "holds no files" in result["msg"]
    result = run_module({"container": "parakeet-asr"}, capsys)
    assert result["failed"] and "src, files" in result["msg"]


def test_missing_docker_sdk_is_one_line_naming_the_prepare_playbook(overlay, monkeypatch, capsys):
    monkeypatch.setitem(_deps._MISSING, "docker", "ModuleNotFoundError: No module named 'docker'")
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True}, capsys)
    assert result["failed"] and result["missing_libraries"] == ["docker"]
    assert "prepare_audio_hosts.yml" in result["msg"] and "\n" not in result["msg"]
    assert "Traceback" not in json.dumps(result)


def test_unreachable_engine_is_a_clear_message(overlay, tmp_path, capsys):
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                         "docker_host": f"unix://{tmp_path}/no-docker.sock", "docker_timeout": 2}, capsys)
    assert result["failed"] and "cannot reach the Docker engine" in result["msg"]
    assert "Traceback" not in json.dumps(result)


@pytest.mark.parametrize("extra, message", [
    ({"verify": {"url": "u", "audio": "a.wav", "text": "t", "max_wer": 1.5}},
     "verify.max_wer must be between 0 and 1, got 1.5"),
    ({"verify": {"url": "u", "audio": "a.wav", "text": "t", "max_wer": -1}},
     "verify.max_wer must be between 0 and 1, got -1"),
    ({"verify": {"url": "u", "audio": "a.wav", "text": "t", "timeout": 0}},
     "verify.timeout must be greater than 0, got 0"),
    ({"owner_id": -1}, "owner_id must be between 0 and 4294967295, got -1"),
    ({"group_id": 2 ** 32}, "group_id must be between 0 and 4294967295, got 4294967296"),
    ({"mode": "rw-r--r--"}, "mode 'rw-r--r--' is not an octal number such as '0644'"),
    ({"mode": "017777"}, "mode '017777' is out of range (0000-7777)"),
    ({"mode": [644]}, "mode [644] is not an octal string such as '0644' (or an integer)"),
    ({"stop_timeout": -5}, "stop_timeout must be at least 0, got -5"),
    ({"ready_timeout": -1}, "ready_timeout must be at least 0, got -1"),
    ({"log_lines": -3}, "log_lines must be at least 0, got -3"),
    ({"max_file_size": 0}, "max_file_size must be at least 1, got 0"),
    ({"lock_timeout": -1}, "lock_timeout must be at least 0, got -1"),
    ({"dest": "app"}, "dest 'app' must be an absolute path inside the container"),
    ({"dest": "/app/../etc"}, "dest /etc (given as /app/../etc) is outside the allowed folders ['/app']: refused "
                              "(path traversal); add the folder to allowed_dests if it is really meant"),
])
def test_bad_options_are_refused_with_a_message_naming_them(overlay, fake, tmp_path, capsys, extra, message):
    box, _service = fake
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                         "backup_dir": str(tmp_path / "b"), **extra}, capsys)
    assert result["failed"] and result["msg"] == message and not result["changed"]
    assert box.calls == []  # refused before the container was even read


def test_a_no_op_import_leaves_the_word_error_rate_libraries_unloaded():
    """The module loads jiwer and num2words only when a restart is checked (a fresh interpreter sees it)."""
    import subprocess
    import sys

    code = ("import sys\nimport ansible_collections.spark_control.audio.plugins.modules.speech_patch\n"
            "print(sorted(m for m in ('jiwer', 'num2words', 'docker') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['docker']"


def test_an_engine_error_no_step_caught_is_one_line(overlay, fake, tmp_path, monkeypatch, capsys):
    from requests.exceptions import ConnectionError as RequestsConnectionError

    def engine_gone(client, settings):
        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")

    monkeypatch.setattr(speech_patch, "run", engine_gone)
    result = run_module({"container": "parakeet-asr", "src": str(overlay), "remote_src": True,
                         "backup_dir": str(tmp_path / "b")}, capsys)
    assert result["failed"] and result["msg"].startswith("the Docker engine failed mid-run (ConnectionError: ")
    assert f"journal in {tmp_path / 'b'}/journal" in result["msg"] and "\n" not in result["msg"]
    assert "exception" not in result


def test_an_overlay_from_the_controller_never_reads_verify_audio_on_the_host(fake, tmp_path, capsys):
    """verify.audio is a controller path then: the module asks for the clip instead of opening it."""
    from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import OverlayFile, to_wire

    box, service = fake
    files = [OverlayFile.of("main.py", b"print('patched')\n", 0o644)]
    args = {"container": "parakeet-asr", "src": "patches", "backup_dir": str(tmp_path / "b"),
            "ready_url": service.url + "/ready",
            "verify": {"url": service.url + "/t", "audio": "audio/not-on-this-host.wav", "text": REFERENCE}}
    first = run_module({**args, "_overlay": to_wire(files)}, capsys)
    assert not first.get("failed"), first.get("msg")
    assert first["needs_content"] == ["main.py"] and first["needs_verify_audio"]
    assert not any(c.startswith(("put_archive", "restart")) for c in box.calls)
    second = run_module({**args, "_overlay": to_wire(files, ["main.py"]),
                         "_verify_audio": base64.b64encode(SPEECH).decode()}, capsys)
    assert second["status"] == "applied" and second["verification"]["passed"]
    again = run_module({**args, "_overlay": to_wire(files)}, capsys)  # a no-op needs neither bytes nor clip
    assert again["status"] == "current" and "needs_content" not in again
