"""An interpreter that does not exist on the host becomes one line naming prepare_audio_hosts.yml."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module, unprepared

VENV = "/opt/spark_control/venv/bin/python"
# What ansible-core 2.19 returns when the module's interpreter is missing (ssh and local alike).
MISSING = {"failed": True, "msg": f"The module interpreter '{VENV}' was not found.", "rc": 127,
           "module_stderr": f"/bin/sh: 1: {VENV}: not found\n", "module_stdout": "", "_ansible_parsed": False,
           "exception": "(traceback unavailable)"}


@pytest.mark.parametrize("stderr", [f"/bin/sh: 1: {VENV}: not found\n", f"/bin/sh: {VENV}: No such file or directory\n",
                                    f"bash: {VENV}: command not found\n"])
def test_a_missing_interpreter_is_one_line(stderr):
    hint = unprepared({**MISSING, "module_stderr": stderr}, f"#!{VENV}")
    assert hint["failed"] and hint["unprepared_host"] and hint["python"] == VENV and hint["changed"] is False
    assert "\n" not in hint["msg"] and "exception" not in hint
    assert hint["msg"].startswith("this audio host is not prepared: its audio-host Python "
                                  "/opt/spark_control/venv/bin/python does not exist. Run playbooks/prepare_audio_hosts.yml")


@pytest.mark.parametrize("result", [
    {"changed": True},                                                   # a normal result
    {**MISSING, "rc": 1},                                                # another failure
    {**MISSING, "_ansible_parsed": True},                                # the module ran and said so itself
    {**MISSING, "module_stderr": "/bin/sh: 1: /usr/bin/other: not found\n"},  # not the interpreter
])
def test_other_results_pass_through(result):
    assert unprepared(result, VENV) is None


def test_execute_host_module_replaces_only_that_failure():
    action = MagicMock()
    action._used_interpreter = VENV
    action._execute_module.return_value = dict(MISSING)
    assert execute_host_module(action, "m", {}, {})["unprepared_host"]
    action._execute_module.return_value = {"changed": False, "rc": 0}
    assert execute_host_module(action, "m", {"a": 1}, {"x": 1}) == {"changed": False, "rc": 0}
    action._execute_module.assert_called_with(module_name="m", module_args={"a": 1}, task_vars={"x": 1})
