"""container_pip module entry point: arguments, documentation, clear failures."""
from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.doc_fragments import docker as docker_fragment
from ansible_collections.spark_control.audio.plugins.module_utils._docker import DockerAccessError
from ansible_collections.spark_control.audio.plugins.modules import container_pip

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import FakePython, pip_output, report


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


# -- bad input: a message naming the option, before the engine is reached ----------------------
BAD_INPUT = {
    "marker text that is no marker": (
        {"packages": ["x; touch pwned"]},
        "packages: 'x; touch pwned' is not a valid requirement (Expected a marker variable or quoted string): "
        "expected e.g. 'name', 'name==1.2', 'name[extra]>=1,<2' or 'name; python_version >= \"3.10\"'"),
    "a bare wheel file name": (
        {"packages": ["pkg-1.0-py3-none-any.whl"]},
        "packages: 'pkg-1.0-py3-none-any.whl' is a direct reference (URL, path or archive file): container_pip "
        "installs from an index or find-links location only, so that the resolution can be checked first; publish "
        "the package there"),
    "a local path": ({"packages": ["./wheels/pkg"]}, "packages: './wheels/pkg' is a direct reference"),
    "a pip option": (
        {"packages": ["-r /etc/requirements.txt"]},
        "packages: '-r /etc/requirements.txt' looks like a pip option, not a requirement: pass index settings "
        "through the module's options (index_url, find_links...) instead"),
    "an empty requirement": (
        {"packages": [" "]}, "packages: empty requirement: give a package name such as 'sentencepiece==0.2.0'"),
    "retries negative": ({"retries": -1}, "retries must be at least 0, got -1"),
    "network_timeout zero": ({"network_timeout": 0}, "network_timeout must be greater than 0, got 0"),
    "pip_timeout zero": ({"pip_timeout": 0}, "pip_timeout must be greater than 0, got 0"),
    "docker_timeout negative": ({"docker_timeout": -5}, "docker_timeout must be greater than 0, got -5"),
    "retries not a number": (
        {"retries": "many"},
        "argument 'retries' is of type str and we were unable to convert to int: \"'many'\" cannot be converted to "
        "an int"),
    "empty container": ({"container": " "}, "container is empty: give the name or id of the running container"),
    "empty python": (
        {"python": ""},
        "python is empty: give the container's Python interpreter, e.g. python or /opt/venv/bin/python"),
    "relative constraint file": (
        {"constraint_file": "etc/pip/constraint.txt"},
        "constraint_file 'etc/pip/constraint.txt' is not an absolute path inside the container"),
    "pinned package that is a requirement": (
        {"pinned_packages": ["torch>=2"]}, "pinned_packages[0] 'torch>=2' is not a package name"),
    "allow_source_build with a space": (
        {"allow_source_build": ["torch audio"]}, "allow_source_build[0] 'torch audio' is not a package name"),
    "import check that is no module": (
        {"import_checks": ["torch; import os"]},
        "import_checks[0] 'torch; import os' is not a module name (dotted Python identifiers, e.g. torch or "
        "torch.cuda)"),
    "deny entry without a name": (
        {"deny": [{"modules": ["cuda"]}]}, "missing required arguments: name found in deny"),
    "deny name that is no package": ({"deny": [{"name": "cuda python"}]}, "deny[0].name 'cuda python' is not a package name"),
    "deny module with a slash": (
        {"deny": [{"name": "cuda-python", "modules": ["cuda/bindings"]}]},
        "deny[0].modules[0] 'cuda/bindings' is not a module name (dotted Python identifiers, e.g. cuda or "
        "cuda.bindings)"),
    "deny with an unknown key": (
        {"deny": [{"name": "cuda-python", "module": "cuda"}]},
        "Unsupported parameters for (basic.py) module: deny.module"),
    "index_url without a scheme": (
        {"index_url": "pypi.example.internal/simple"},
        "index_url 'pypi.example.internal/simple' is not an http://, https:// or file:// URL with a host: give e.g. "
        "https://pypi.example.internal/simple/"),
    "find_links relative": (
        {"find_links": ["wheels"]},
        "find_links[0] 'wheels' is neither an absolute folder inside the container nor a URL: give e.g. /tmp/wheels "
        "or https://wheels.example.internal/"),
    "trusted host with a scheme": (
        {"trusted_hosts": ["https://pypi.example.internal"]},
        "trusted_hosts[0] 'https://pypi.example.internal' is not a host name: give host or host:port, as pip's "
        "--trusted-host takes it (no scheme, no path)"),
    "no_index without find_links": (
        {"no_index": True}, "no_index=true ignores every index, so find_links must say where the packages are"),
    "a token as user name": (
        {"index_url": "https://t0ken-s3cret@pypi.example.internal/simple/"},
        "index_url: a user name without a password cannot be passed to pip outside the URL: give the token as the "
        "password (https://__token__:TOKEN@host/...)"),
    "packages and reinstall": (
        {"packages": ["x"], "reinstall": True}, "parameters are mutually exclusive: packages|reinstall"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_named_before_the_engine_is_reached(monkeypatch, capsys, case):
    args, message = BAD_INPUT[case]

    def no_engine(params):
        raise AssertionError("the Docker engine was contacted")

    monkeypatch.setattr(container_pip, "connect", no_engine)
    result = run_module({"container": "parakeet-asr"} | args, capsys)
    assert result["failed"] and not result.get("changed")
    assert message in result["msg"], result["msg"]
    assert "s3cret" not in json.dumps(result)


def test_index_credentials_are_masked_in_messages_results_and_the_invocation(fake, tmp_path, capsys):
    fake.dry_runs.append(("fail", pip_output("26.3", "unknown_package")))
    url = "http://ci:hunter2-s3cret@127.0.0.1:8570/simple/"
    result = run_module({"container": "parakeet-asr", "packages": ["no-such-package-here"], "index_url": url,
                         "extra_index_urls": ["http://ci:hunter2-s3cret@127.0.0.1:8570/extra/"],
                         "manifest_dir": str(tmp_path)}, capsys)
    assert result["failed"] and "not found on the index" in result["msg"]
    assert "hunter2-s3cret" not in json.dumps(result)
    assert result["invocation"]["module_args"]["index_url"] == "http://ci:********@127.0.0.1:8570/simple/"
    # pip got the URL without credentials, and them in a netrc file (0600) named in its environment.
    dry, env = next((a, e) for a, e in fake.calls if "--dry-run" in a)
    assert dry[dry.index("--index-url") + 1] == "http://127.0.0.1:8570/simple/"
    assert not any("hunter2" in arg for arg in dry)
    assert env["NETRC"] == "/tmp/spark-container-pip-test/netrc" and fake.modes[env["NETRC"]] == 0o600


def test_credentials_stay_out_of_the_manifest(fake, tmp_path, capsys):
    fake.dry_runs.append(("ok", report(("loose-torch-user", "1.0.0", True))))
    fake.install_adds = {"loose-torch-user": ("loose-torch-user", "1.0.0")}
    result = run_module({"container": "parakeet-asr", "packages": ["loose-torch-user"],
                         "index_url": "http://ci:hunter2-s3cret@127.0.0.1:8570/simple/",
                         "manifest_dir": str(tmp_path)}, capsys)
    assert result["changed"] and not result.get("failed"), result.get("msg")
    text = (tmp_path / "parakeet-asr.json").read_text()
    assert "hunter2" not in text and "hunter2" not in json.dumps(result)
    assert json.loads(text)["sources"] == {"index_url": "http://127.0.0.1:8570/simple/",
                                           "credentials_not_recorded": ["index_url"]}
    # A reinstall from that manifest must be given the credentials again, and says so.
    again = run_module({"container": "parakeet-asr", "reinstall": True, "manifest_dir": str(tmp_path)}, capsys)
    assert again["failed"] and "records that index_url carried credentials, which are never recorded" in again["msg"]


def test_default_deny_by_module_carries_the_full_reason(fake, tmp_path, capsys):
    fake.dry_runs.append(("ok", report(("accel-kernels", "1.0.0", True))))
    fake.wheels = {"accel-kernels-1.0.0-py3-none-any.whl": ["cuda/__init__.py"]}
    result = run_module({"container": "parakeet-asr", "packages": ["accel-kernels"], "manifest_dir": str(tmp_path)},
                        capsys)
    assert result["failed"] and result["refusals"][0]["module"] == "cuda"
    assert "illegal memory access" in result["msg"] and "NeMo" in result["msg"]
