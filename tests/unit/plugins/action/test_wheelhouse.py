"""The wheelhouse action: argument checks, check mode, a complete cache answers without pip."""
from __future__ import annotations

from unittest.mock import MagicMock

from ansible_collections.spark_control.audio.plugins.action import wheelhouse
from ansible_collections.spark_control.audio.plugins.action.wheelhouse import ActionModule


def make_action(args: dict, check_mode: bool = False) -> ActionModule:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    return ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())


def pip_must_not_run(*args, **kwargs):
    raise AssertionError(f"pip ran: {args} {kwargs}")


def args(tmp_path, **more):
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("docker==7.2.0\n")
    return {"requirements": str(reqs), "dest": str(tmp_path / "cache"), "machine": "aarch64", "glibc": "2.39",
            "python_version": "3.12", **more}


def test_check_mode_reports_what_is_missing_without_pip(tmp_path, monkeypatch):
    monkeypatch.setattr(wheelhouse._wheelhouse, "build", pip_must_not_run)
    result = make_action(args(tmp_path), check_mode=True).run(task_vars={})
    assert result["changed"] and result["missing"] == ["docker==7.2.0"] and "archive" not in result
    assert result["dest"].endswith("cache/aarch64-glibc2.39-cp312")


def test_a_complete_cache_is_not_changed_and_gives_the_archive(tmp_path, monkeypatch):
    monkeypatch.setattr(wheelhouse._wheelhouse, "build", pip_must_not_run)
    folder = tmp_path / "cache/aarch64-glibc2.39-cp312"
    folder.mkdir(parents=True)
    (folder / "docker-7.2.0-py3-none-any.whl").write_bytes(b"x")
    result = make_action(args(tmp_path)).run(task_vars={})
    assert not result["changed"] and not result.get("failed")
    assert result["wheels"] == ["docker-7.2.0-py3-none-any.whl"] and result["archive"].endswith(".tar")
    assert "archive" not in make_action(args(tmp_path, archive=False)).run(task_vars={})


def test_bad_arguments_and_files_fail_in_one_line(tmp_path):
    result = make_action(args(tmp_path, machine="riscv64")).run(task_vars={})
    assert result["failed"] and "riscv64" in result["msg"] and "\n" not in result["msg"]
    result = make_action(args(tmp_path, requirements=str(tmp_path / "nope.txt"))).run(task_vars={})
    assert result["failed"] and "nope.txt" in result["msg"]
    bad = tmp_path / "loose.txt"
    bad.write_text("docker>=7\n")
    result = make_action(args(tmp_path, requirements=str(bad))).run(task_vars={})
    assert result["failed"] and "not a name==version pin" in result["msg"]
    result = make_action(args(tmp_path, timeout=0)).run(task_vars={})
    assert result["failed"] and "timeout=0 must be more than 0" in result["msg"]


def test_the_index_options_reach_pip_as_its_environment(tmp_path, monkeypatch):
    seen = {}

    def build(pins, dest, target, python, index, timeout):
        seen.update(index)
        return wheelhouse._wheelhouse.Outcome([], [], [])

    monkeypatch.setattr(wheelhouse._wheelhouse, "build", build)
    result = make_action(args(tmp_path, index_url="http://ci:T0KEN@mirror.internal:3141/simple",
                              trusted_hosts=["mirror.internal:3141"], archive=False)).run(task_vars={})
    assert not result.get("failed"), result
    assert seen == {"PIP_INDEX_URL": "http://ci:T0KEN@mirror.internal:3141/simple",
                    "PIP_TRUSTED_HOST": "mirror.internal:3141"}
