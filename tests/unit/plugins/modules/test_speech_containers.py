"""The speech_containers module: arguments, documentation, changed only when it started something."""
from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.doc_fragments import docker as docker_fragment
from ansible_collections.spark_control.audio.plugins.modules import speech_containers

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils.test__container_start import (
    FakeClient, FakeContainer)


def test_documented_options_match_the_argument_spec():
    doc = yaml.safe_load(speech_containers.DOCUMENTATION)
    fragment = yaml.safe_load(docker_fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(doc["options"]) | set(fragment) == set(speech_containers.ARGUMENT_SPEC)
    for name, spec in doc["options"].items():
        assert spec.get("default") == speech_containers.ARGUMENT_SPEC[name].get("default"), name
    yaml.safe_load(speech_containers.EXAMPLES)
    yaml.safe_load(speech_containers.RETURN)


def module(args, monkeypatch, capsys, client=None):
    monkeypatch.setattr(speech_containers, "connect", lambda params: client or FakeClient())
    with patch_module_args(args), pytest.raises(SystemExit):
        speech_containers.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("args, message", [
    ({"names": []}, "names is empty: give the containers that must be running"),
    ({"names": ["kokoro", " "]}, "names[1] is empty"),
    ({"names": ["kokoro"], "wait_timeout": 0}, "wait_timeout must be greater than 0, got 0"),
    ({}, "missing required arguments: names"),
])
def test_bad_input(monkeypatch, capsys, args, message):
    result = module(args, monkeypatch, capsys)
    assert result["failed"] and message in result["msg"]


def test_module_reports_changed_only_when_it_started_something(monkeypatch, capsys):
    client = FakeClient(FakeContainer("kokoro", "exited"))
    first = module({"names": ["kokoro"]}, monkeypatch, capsys, client)
    again = module({"names": ["kokoro"]}, monkeypatch, capsys, client)
    assert first["changed"] and first["started"] == ["kokoro"]
    assert not again["changed"] and again["started"] == []
    gone = module({"names": ["parakeet-asr"]}, monkeypatch, capsys, client)
    assert gone["failed"] and gone["missing"] == ["parakeet-asr"]
    assert gone["msg"] == ("parakeet-asr does not exist: recreate it as deployed, then run reapply_patches.yml (a "
                           "new container has no overlay)")
