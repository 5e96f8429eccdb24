"""The container_pip action plugin: a reinstall with nothing recorded costs one shell test, no module run."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.spark_control.audio.plugins.action.container_pip import ActionModule


def make_action(args: dict, shell_answer: dict) -> tuple[ActionModule, list, list]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = False
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    modules, shells = [], []

    def execute(module_name, module_args, task_vars):
        modules.append(module_args)
        return {"changed": False, "installed": []}

    def shell(cmd, sudoable=True):
        shells.append(cmd)
        return shell_answer

    action._execute_module = execute
    action._low_level_execute_command = shell
    return action, modules, shells


def test_no_manifest_no_module_run():
    action, modules, shells = make_action({"container": "parakeet-asr", "reinstall": True},
                                          {"rc": 0, "stdout": "absent\n"})
    result = action.run(task_vars={})
    assert modules == [] and len(shells) == 1 and "/var/lib/spark_control/container-packages/parakeet-asr.json" in shells[0]
    assert not result["changed"] and result["installed"] == [] and "nothing recorded" in result["notes"][0]


@pytest.mark.parametrize("answer", [{"rc": 0, "stdout": "present\n"}, {"rc": 0, "stdout": "unknown\n"},
                                    {"rc": 1, "stdout": "", "stderr": "sudo: a password is required"}])
def test_a_manifest_or_any_doubt_runs_the_module(answer):
    action, modules, _shells = make_action({"container": "parakeet-asr", "reinstall": True,
                                            "manifest_dir": "/srv/manifests"}, answer)
    action.run(task_vars={})
    assert len(modules) == 1 and modules[0]["manifest_dir"] == "/srv/manifests"


@pytest.mark.parametrize("manifest_dir", ["~/manifests", "manifests"])
def test_a_folder_only_the_host_can_resolve_runs_the_module(manifest_dir):
    # A quoted "~" is not expanded by the shell test: it would answer absent and skip a recorded reinstall.
    action, modules, shells = make_action({"container": "parakeet-asr", "reinstall": True,
                                           "manifest_dir": manifest_dir}, {"rc": 0, "stdout": "absent\n"})
    action.run(task_vars={})
    assert shells == [] and len(modules) == 1 and modules[0]["manifest_dir"] == manifest_dir


def test_installs_never_take_the_shortcut():
    action, modules, shells = make_action({"container": "parakeet-asr", "packages": ["x"]}, {"rc": 0, "stdout": "absent"})
    action.run(task_vars={})
    assert shells == [] and len(modules) == 1


@pytest.mark.parametrize("bad, named", [
    ({"pip_timeout": -1}, "pip_timeout"),
    ({"pinned_pakages": ["torch"]}, "pinned_pakages"),
    ({"packages": ["x"]}, "packages|reinstall"),
    ({"import_checks": ["not a module"]}, "import_checks[0]"),
    ({"retries": "many"}, "retries"),
    # The source options too: a broken index in reapply_patches.yml must not wait for a container with a manifest.
    ({"index_url": "pypi.internal/simple"}, "index_url"),
    ({"no_index": True}, "find_links"),
    ({"trusted_hosts": ["https://x/"]}, "trusted_hosts[0]"),
])
def test_a_bad_option_fails_before_the_shortcut(bad, named):
    # Nothing recorded would answer "nothing to reinstall"; the module would have refused the option.
    action, modules, shells = make_action({"container": "parakeet-asr", "reinstall": True, **bad},
                                          {"rc": 0, "stdout": "absent\n"})
    result = action.run(task_vars={})
    assert result["failed"] and named in result["msg"] and "Traceback" not in result["msg"]
    assert modules == [] and shells == []
