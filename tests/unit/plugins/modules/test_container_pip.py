"""container_pip module entry point: arguments, documentation, clear failures."""
from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.doc_fragments import docker as docker_fragment
from ansible_collections.spark_control.audio.plugins.module_utils._docker import DockerAccessError
from ansible_collections.spark_control.audio.plugins.modules import container_pip

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import FakePython, report


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        container_pip.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def fake(monkeypatch):
    box = FakePython()
    monkeypatch.setattr(container_pip, "connect", lambda params: object())
    monkeypatch.setattr(container_pip, "running_container", lambda client, name, missing_ok=False: object())
    monkeypatch.setattr(container_pip, "ContainerPython", lambda container, python: box)
    return box


def test_documented_options_match_the_argument_spec():
    doc = yaml.safe_load(container_pip.DOCUMENTATION)
    fragment = yaml.safe_load(docker_fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    documented = set(doc["options"]) | set(fragment)
    assert documented == set(container_pip.ARGUMENT_SPEC)
    for name, spec in doc["options"].items():
        assert spec.get("default") == container_pip.ARGUMENT_SPEC[name].get("default"), name
    yaml.safe_load(container_pip.EXAMPLES)
    yaml.safe_load(container_pip.RETURN)


def test_install_through_the_module(fake, tmp_path, capsys):
    fake.dry_runs.append(("ok", report(("loose-torch-user", "1.0.0", True, ["torch>=2.1"]))))
    fake.install_adds = {"loose-torch-user": ("loose-torch-user", "1.0.0")}
    result = run_module({"container": "parakeet-asr", "packages": ["loose-torch-user"],
                         "manifest_dir": str(tmp_path)}, capsys)
    assert result["changed"] and result["installed"] == ["loose-torch-user==1.0.0"]
    assert (tmp_path / "parakeet-asr.json").exists()


def test_default_deny_carries_the_full_reason(fake, tmp_path, capsys):
    fake.dry_runs.append(("ok", report(("cuda-python", "12.9.0", True))))
    result = run_module({"container": "parakeet-asr", "packages": ["cuda-python"], "manifest_dir": str(tmp_path)},
                        capsys)
    assert result["failed"] and not result["changed"]
    assert "illegal memory access" in result["msg"] and "NeMo" in result["msg"]


def test_empty_deny_list_allows_cuda_python(fake, tmp_path, capsys):
    fake.dry_runs.append(("ok", report(("cuda-python", "12.9.0", True))))
    fake.install_adds = {"cuda-python": ("cuda-python", "12.9.0")}
    result = run_module({"container": "spark_embed", "packages": ["cuda-python"], "deny": [],
                         "manifest_dir": str(tmp_path)}, capsys)
    assert result["changed"] and not result.get("failed")


def test_bad_requirement_is_a_clear_error(fake, capsys):
    result = run_module({"container": "parakeet-asr", "packages": ["torch @ https://example.invalid/t.whl"]}, capsys)
    assert result["failed"] and result["msg"].startswith("packages: ") and "direct reference" in result["msg"]
    assert fake.calls == []


def test_packages_and_reinstall_exclude_each_other(fake, capsys):
    result = run_module({"container": "parakeet-asr", "packages": ["x"], "reinstall": True}, capsys)
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_missing_container_message(monkeypatch, capsys):
    monkeypatch.setattr(container_pip, "connect", lambda params: object())

    def missing(client, name, missing_ok=False):
        if missing_ok:
            return None
        raise DockerAccessError(f"container {name!r} does not exist on this Docker engine")

    monkeypatch.setattr(container_pip, "running_container", missing)
    result = run_module({"container": "parakeet-asr-gone", "packages": ["x"]}, capsys)
    assert result["failed"] and "'parakeet-asr-gone' does not exist" in result["msg"]
    skipped = run_module({"container": "spark_embed", "if_missing": "skip"}, capsys)
    assert skipped["skipped"] and skipped["container_exists"] is False and not skipped["changed"]
    assert not skipped.get("failed")


def test_reinstall_without_a_manifest_never_reaches_the_engine(monkeypatch, tmp_path, capsys):
    def no_engine(params):
        raise AssertionError("the Docker engine was contacted")

    monkeypatch.setattr(container_pip, "connect", no_engine)
    result = run_module({"container": "parakeet-asr", "reinstall": True, "manifest_dir": str(tmp_path)}, capsys)
    assert not result["changed"] and not result.get("failed") and result["installed"] == []
    assert "no package manifest" in result["notes"][0]


def test_pip_timeout_raises_the_docker_socket_timeout(monkeypatch, fake, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr(container_pip, "connect", lambda params: seen.update(params) or object())
    run_module({"container": "c", "pip_timeout": 3600, "manifest_dir": str(tmp_path)}, capsys)
    assert seen["docker_timeout"] == 3600
