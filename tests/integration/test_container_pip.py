"""container_pip against real containers of the bench's parakeet-asr image.

The image has an NGC-like pip setup (torch family stand-ins with NGC local
versions, /etc/pip/constraint.txt, PIP_CONSTRAINT); the test index
(tests/bench/pypi, served on 127.0.0.1:<8070 + offset>) has a package for
every rule. The module runs through `ansible` exactly as a playbook runs it.
Every refusal is checked to leave the container as it was (same `pip freeze`).
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import requests

from conftest import AUDIO, OFFSET, SUFFIX, TAG, wer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE = f"spark-bench/parakeet-asr:{TAG}"
INDEX = f"http://127.0.0.1:{8070 + OFFSET}/simple/"
DEAD_INDEX = f"http://127.0.0.1:{8071 + OFFSET}/simple/"  # nothing listens there
NGC_TORCH = "2.9.0a0+145a3a7bda.nv25.10"
TARGET = f"pip-target{SUFFIX}"
HAZARD_PORT = 8013 + OFFSET
OVERLAY = REPO / "files" / "parakeet_patches"


# -- helpers ---------------------------------------------------------------
def ansible_env() -> dict:
    return os.environ | {
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".cache" / "collections"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "SPARK_BENCH_SUFFIX": SUFFIX,
        "SPARK_BENCH_PORT_OFFSET": str(OFFSET),
    }


def container_pip(args: dict, check: bool = False, diff: bool = False, home: Path | None = None) -> dict:
    """Run the module on localhost (with HOME=``home`` if given); return its result."""
    cmd = [str(BIN / "ansible"), "localhost", "-m", "spark_control.audio.container_pip", "-a", json.dumps(args),
           "-e", f"ansible_python_interpreter={sys.executable}"]
    cmd += ["--check"] * check + ["--diff"] * diff
    env = ansible_env() | ({"HOME": str(home)} if home else {})
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"ansible gave no result:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def dexec(container: str, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    flags = [f"--env={k}={v}" for k, v in (env or {}).items()]
    return subprocess.run(["docker", "exec", *flags, container, *argv], capture_output=True, text=True, check=False)


def freeze(container: str) -> str:
    done = dexec(container, "python", "-m", "pip", "freeze", "--all")
    assert done.returncode == 0, done.stderr
    return done.stdout


def versions(container: str) -> dict:
    done = dexec(container, "python", "-m", "pip", "list", "--format=json")
    return {d["name"].lower(): d["version"] for d in json.loads(done.stdout)}


def run_container(name: str, command: list[str] | None = None, env: dict | None = None,
                  overlay: bool = False) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    create = ["docker", "create", "--name", name, "--network", "host", "--label", "spark-bench.member=true"]
    create += [f"--env={k}={v}" for k, v in (env or {}).items()]
    done = subprocess.run(create + [IMAGE, *(command or [])], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    if overlay:
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as archive:
            for path in sorted(OVERLAY.iterdir()):
                if path.is_file():
                    archive.add(path, arcname=path.name)
        subprocess.run(["docker", "cp", "-", f"{name}:/app"], input=tar.getvalue(), check=True)
    subprocess.run(["docker", "start", name], check=True, capture_output=True)


def remove(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


# -- fixtures --------------------------------------------------------------
@pytest.fixture(scope="session")
def pip_index() -> str:
    """The bench's test index, (re)started with tests/bench/pypi/up.yml.

    Always run, never "reuse whatever answers on the port": an index left
    running by another checkout (restart policy) serves that checkout's
    folder, so this one's catalog would not be what pip sees.
    """
    env = ansible_env() | {"ANSIBLE_STDOUT_CALLBACK": "default"}
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "tests/bench/inventory.yml", "tests/bench/pypi/up.yml"],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.fail(f"could not start the pip test index:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return INDEX


@pytest.fixture
def target(pip_index):
    """A fresh container of the parakeet-asr image (idle: pip is what is tested)."""
    run_container(TARGET, ["sleep", "infinity"])
    yield TARGET
    remove(TARGET)


@pytest.fixture(scope="module")
def shared_target(pip_index):
    """One container for the refusal tests: each leaves it unchanged, which they check."""
    name = f"pip-refusals{SUFFIX}"
    run_container(name, ["sleep", "infinity"])
    yield name
    remove(name)


# -- refusals ------------------------------------------------------------------
REFUSALS = {
    "pinned torch, via a dependency": (
        {"packages": ["needs-new-torch"]}, "pinned",
        ["needs-new-torch 1.0.0 depends on torch>=2.10", f"torch=={NGC_TORCH}"]),
    "pinned torch, asked for directly": (
        {"packages": ["torch==2.10.0"]}, "pinned", ["The user requested torch==2.10.0"]),
    "cuda-python as a transitive dependency": (
        {"packages": ["asr-extras"]}, "denied",
        ["cuda-python 12.9.0 (pulled in by asr-extras -> cuda-python)", "cuda-bindings 12.9.0", "illegal memory access"]),
    "cuda-bindings asked for directly": (
        {"packages": ["cuda-bindings"]}, "denied", ["requested directly", "GB10"]),
    "source build not allowed": (
        {"packages": ["sdist-only-lib"]}, "source_build", ["sdist_only_lib-1.0.0.tar.gz", "allow_source_build"]),
    "torchaudio built with isolation": (
        {"packages": ["torchaudio"], "no_build_isolation": []}, "build_failed",
        ["No module named 'torch'", "add torchaudio to no_build_isolation"]),
    "unknown package": (
        {"packages": ["no-such-package-here"]}, "unknown_package", ["'no-such-package-here' was not found"]),
    "resolution conflict": (
        {"packages": ["bench-helper-lib==1.0.0", "needs-newer-helper"]}, "conflict",
        ["needs-newer-helper 1.0.0 depends on bench-helper-lib>=2.0", "The user requested bench-helper-lib==1.0.0"]),
    "offline index": (
        {"packages": ["loose-torch-user"], "index_url": DEAD_INDEX}, "index_unreachable",
        [DEAD_INDEX, "Connection refused"]),
    "offline index, pip not retrying": (
        {"packages": ["loose-torch-user"], "index_url": DEAD_INDEX, "retries": 0}, "index_unreachable",
        [DEAD_INDEX, "Connection refused"]),
    "import torch broken afterwards": (
        {"packages": ["torch-shadow"]}, "rolled_back",
        ["import torch fails", "torch is shadowed", "are as before the run"]),
    # Denied by what would become importable, under any distribution name.
    "a wheel under another name shipping cuda": (
        {"packages": ["speech-turbo"]}, "denied",
        ["accel-kernels 1.0.0 (pulled in by speech-turbo -> accel-kernels; its wheel makes module cuda importable)",
         "illegal memory access"]),
    "cuda in a wheel's .data/purelib": (
        {"packages": ["gpu-shim-data"]}, "denied",
        ["gpu-shim-data 1.0.0 (requested directly; its wheel makes module cuda importable)"]),
    "cuda through a .pth file, caught after installing": (
        {"packages": ["pth-cuda-hook"]}, "rolled_back",
        ["denied module cuda is importable after installing", "pth_cuda_hook_lib/cuda",
         "owned by no distribution", "are as before the run"]),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal_leaves_the_container_unchanged(shared_target, pip_index, tmp_path, case):
    args, kind, needles = REFUSALS[case]
    before = freeze(shared_target)
    result = container_pip({"container": shared_target, "index_url": pip_index,
                            "manifest_dir": str(tmp_path)} | args)
    assert result.get("failed"), result
    assert not result["changed"]
    found = {r["rule"] for r in result.get("refusals", [])} | {result.get("failure_kind")}
    if result.get("rollback"):
        found.add("rolled_back")
    assert kind in found, result["msg"]
    for needle in needles:
        assert needle in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]
    assert freeze(shared_target) == before
    assert not (tmp_path / f"{shared_target}.json").exists()


def _exec_starts(container: str, since: str) -> list[str]:
    """The exec_start events of a container since a time: what ran in it."""
    done = subprocess.run(["docker", "events", "--since", since, "--until", f"{time.time():.6f}", "--filter",
                           f"container={container}", "--filter", "event=exec_start", "--format",
                           "{{.Actor.Attributes.execID}}"], capture_output=True, text=True, check=True, timeout=30)
    return done.stdout.split()


@pytest.mark.parametrize("requirement, message", [
    ("x; touch /tmp/pwned", "packages: 'x; touch /tmp/pwned' is not a valid requirement (Expected a marker variable "
                            "or quoted string)"),
    ("bench_helper_lib-1.0.0-py3-none-any.whl", "packages: 'bench_helper_lib-1.0.0-py3-none-any.whl' is a direct "
                                                "reference (URL, path or archive file)"),
])
def test_requirements_pip_would_misread_are_refused_before_anything_runs(shared_target, pip_index, tmp_path,
                                                                         requirement, message):
    # The wheel pip would pick up from the working folder, were it given the bare file name.
    fetched = dexec(shared_target, "python", "-m", "pip", "download", "--no-deps", "--index-url", pip_index,
                    "--dest", "/app", "bench-helper-lib==1.0.0")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    before = freeze(shared_target)
    since = f"{time.time():.6f}"  # after the last exec of this test (docker events takes fractions of seconds)
    result = container_pip({"container": shared_target, "index_url": pip_index, "packages": [requirement],
                            "manifest_dir": str(tmp_path)})
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith(message), result["msg"]
    assert _exec_starts(shared_target, since) == []  # nothing ran in the container, pip least of all
    assert freeze(shared_target) == before
    assert dexec(shared_target, "test", "-e", "/tmp/pwned").returncode == 1
    dexec(shared_target, "rm", "-f", "/app/bench_helper_lib-1.0.0-py3-none-any.whl")


def test_missing_container_and_missing_pip(pip_index):
    gone = container_pip({"container": f"no-such-container{SUFFIX}", "packages": ["x"]})
    assert gone["failed"] and "does not exist" in gone["msg"] and "docker ps -a" in gone["msg"]
    bare = f"pip-bare{SUFFIX}"
    subprocess.run(["docker", "rm", "-f", bare], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", bare, "--network", "none", "spark-bench/base:latest",
                    "sleep", "infinity"], check=True, capture_output=True)
    try:
        no_pip = container_pip({"container": bare, "packages": ["x"], "python": "python3"})
        assert no_pip["failed"] and "pip is not installed for 'python3'" in no_pip["msg"]
        no_python = container_pip({"container": bare, "packages": ["x"]})
        assert no_python["failed"] and "'python' was not found in container" in no_python["msg"]
    finally:
        remove(bare)


def test_a_reinstall_with_nothing_recorded_runs_no_module_but_checks_its_options(tmp_path):
    # Answered on the controller with one shell test; a bad option must still fail as the module would.
    none = container_pip({"container": f"never-recorded{SUFFIX}", "reinstall": True, "manifest_dir": str(tmp_path)})
    assert not none["changed"] and "nothing recorded to reinstall" in none["notes"][0]
    assert "invocation" not in none  # no module ran
    bad = container_pip({"container": f"never-recorded{SUFFIX}", "reinstall": True, "manifest_dir": str(tmp_path),
                         "pip_timout": 60})
    assert bad["failed"] and "Unsupported parameters for (spark_control.audio.container_pip)" in bad["msg"]
    assert "pip_timout" in bad["msg"] and "pip_timeout" in bad["msg"]


# -- installing --------------------------------------------------------------
def test_plain_pip_without_the_pins_would_replace_torch(target, pip_index):
    """What the refusal prevents is real on this bench: the index serves another torch."""
    done = dexec(target, "python", "-m", "pip", "install", "--index-url", pip_index, "needs-new-torch",
                 env={"PIP_CONSTRAINT": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert versions(target)["torch"] == "2.10.0"


def test_pinned_install_check_mode_then_for_real_then_idempotent(target, pip_index, tmp_path):
    args = {"container": target, "index_url": pip_index, "packages": ["loose-torch-user"],
            "manifest_dir": str(tmp_path)}
    before = freeze(target)

    preview = container_pip(args, check=True, diff=True)
    assert preview["changed"] and not preview.get("failed")
    assert {(p["name"], p["action"]) for p in preview["plan"]} == {("loose-torch-user", "install"),
                                                                   ("bench-helper-lib", "install")}
    assert freeze(target) == before and not (tmp_path / f"{target}.json").exists()

    done = container_pip(args, diff=True)
    assert done["changed"], done.get("msg")
    assert sorted(done["installed"]) == ["bench-helper-lib==2.0.0", "loose-torch-user==1.0.0"]
    assert done["pinned"]["torch"] == NGC_TORCH and done["pinned"]["numpy"] == "2.4.6"
    assert done["import_checks"] == {"torch": "ok"}
    now = versions(target)
    assert now["torch"] == NGC_TORCH and now["loose-torch-user"] == "1.0.0"
    used = dexec(target, "python", "-c", "import loose_torch_user; print(loose_torch_user.TORCH)")
    assert used.stdout.strip() == NGC_TORCH

    again_check = container_pip(args, check=True)
    again = container_pip(args)
    assert not again_check["changed"] and not again["changed"] and again["plan"] == []
    manifest = json.loads((tmp_path / f"{target}.json").read_text())
    assert manifest["packages"]["loose-torch-user"]["version"] == "1.0.0"
    assert manifest["sources"]["index_url"] == pip_index


def test_torchaudio_builds_from_source_against_the_installed_torch(target, pip_index, tmp_path):
    result = container_pip({"container": target, "index_url": pip_index, "packages": ["torchaudio"],
                            "import_checks": ["torch", "torchaudio"], "manifest_dir": str(tmp_path)})
    assert result["changed"] and result["build_isolation"] is False, result.get("msg")
    (planned,) = result["plan"]
    assert planned["source_build"] and planned["name"] == "torchaudio"
    assert result["import_checks"] == {"torch": "ok", "torchaudio": "ok"}
    show = dexec(target, "python", "-m", "pip", "show", "torchaudio").stdout
    assert "Requires: torch" in show and versions(target)["torch"] == NGC_TORCH
    meta = dexec(target, "python", "-c", "import importlib.metadata as m; print(m.requires('torchaudio'))").stdout
    assert f"torch=={NGC_TORCH}" in meta


def test_deny_list_is_per_container(target, pip_index, tmp_path):
    """spark_embed-like settings (deny: []) let cuda-python in; the default does not."""
    result = container_pip({"container": target, "index_url": pip_index, "packages": ["asr-extras"], "deny": [],
                            "manifest_dir": str(tmp_path)})
    assert result["changed"] and "cuda-python==12.9.0" in result["installed"]
    assert dexec(target, "python", "-c", "import cuda").returncode == 0
    checked = container_pip({"container": target, "manifest_dir": str(tmp_path)})
    assert checked["failed"] and "already has denied package(s) installed" in checked["msg"]


def test_reinstall_after_the_container_is_recreated(target, pip_index, tmp_path):
    installed = container_pip({"container": target, "index_url": pip_index,
                               "packages": ["loose-torch-user", "torchaudio"], "manifest_dir": str(tmp_path)})
    assert installed["changed"], installed.get("msg")
    wanted = {k: v for k, v in versions(target).items() if k in ("loose-torch-user", "bench-helper-lib", "torchaudio")}
    assert len(wanted) == 3

    run_container(target, ["sleep", "infinity"])  # docker rm + recreate from the image
    assert "loose-torch-user" not in versions(target)

    # No index given: the one recorded in the manifest is used.
    back = container_pip({"container": target, "reinstall": True, "manifest_dir": str(tmp_path)})
    assert back["changed"], back.get("msg")
    now = versions(target)
    assert {k: now.get(k) for k in wanted} == wanted and now["torch"] == NGC_TORCH
    assert not container_pip({"container": target, "reinstall": True, "manifest_dir": str(tmp_path)})["changed"]


def test_a_package_installed_with_an_extra_comes_back_with_it(target, pip_index, tmp_path):
    """extras-user[helper] pulls bench-helper-lib through its extra: the manifest keeps the extra, and the
    reinstall after a docker rm asks for extras-user[helper] (asking for extras-user alone would leave the
    extra's dependency out)."""
    args = {"container": target, "manifest_dir": str(tmp_path)}
    installed = container_pip(args | {"index_url": pip_index, "packages": ["extras-user[helper]"]})
    assert installed["changed"], installed.get("msg")
    assert {k: versions(target).get(k) for k in ("extras-user", "bench-helper-lib")} == {
        "extras-user": "1.0.0", "bench-helper-lib": "2.0.0"}

    run_container(target, ["sleep", "infinity"])  # docker rm + recreate: the install is gone
    assert "bench-helper-lib" not in versions(target)
    back = container_pip(args | {"reinstall": True})
    assert back["changed"] and not back.get("failed"), back.get("msg")
    now = versions(target)
    assert now.get("extras-user") == "1.0.0" and now.get("bench-helper-lib") == "2.0.0", now
    assert now["torch"] == NGC_TORCH


def test_a_manifest_folder_under_home_is_found_again_for_the_reinstall(target, pip_index, tmp_path):
    """manifest_dir '~/...' names the become user's home on the audio host: the reinstall must find what
    the install recorded there (the controller's shell shortcut cannot expand '~' and leaves it to the module)."""
    args = {"container": target, "manifest_dir": "~/pip-manifests"}
    installed = container_pip(args | {"index_url": pip_index, "packages": ["loose-torch-user"]}, home=tmp_path)
    assert installed["changed"], installed.get("msg")
    recorded = tmp_path / "pip-manifests" / f"{target}.json"
    assert json.loads(recorded.read_text())["packages"]["loose-torch-user"]["version"] == "1.0.0"

    run_container(target, ["sleep", "infinity"])  # docker rm + recreate: the install is gone
    assert "loose-torch-user" not in versions(target)
    back = container_pip(args | {"reinstall": True}, home=tmp_path)
    assert back["changed"] and "nothing recorded" not in " ".join(back.get("notes", [])), back
    assert versions(target)["loose-torch-user"] == "1.0.0" and versions(target)["torch"] == NGC_TORCH


def test_a_recorded_package_a_later_install_upgraded_comes_back_at_its_new_version(target, pip_index, tmp_path):
    """bench-helper-lib is recorded at 1.0.0, then needs-newer-helper pulls it to 2.0.0: the reinstall must ask
    for 2.0.0 (asking for the first recorded 1.0.0 beside needs-newer-helper cannot be resolved)."""
    args = {"container": target, "index_url": pip_index, "manifest_dir": str(tmp_path)}
    assert container_pip(args | {"packages": ["bench-helper-lib==1.0.0"]})["changed"]
    moved = container_pip(args | {"packages": ["needs-newer-helper"]})
    assert moved["changed"] and versions(target)["bench-helper-lib"] == "2.0.0", moved.get("msg")

    run_container(target, ["sleep", "infinity"])
    back = container_pip({"container": target, "reinstall": True, "manifest_dir": str(tmp_path)})
    assert back["changed"] and not back.get("failed"), back.get("msg")
    now = versions(target)
    assert now["bench-helper-lib"] == "2.0.0" and now["needs-newer-helper"] == "1.0.0"


# -- the GB10 hazard: real speech catches what silence misses ----------------
def _wait_loaded(url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        try:
            body = requests.get(f"{url}/health/ready", timeout=5).json()
            if body.get("phase") in ("ready", "failed"):
                return body
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not finish loading: {body}")


def _silence() -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(bytes(3 * 32000))
    return buf.getvalue()


def _transcribe(url: str, data: bytes) -> requests.Response:
    return requests.post(f"{url}/v1/audio/transcriptions", files={"file": ("a.wav", data, "audio/wav")},
                         data={"response_format": "json"}, timeout=120)


def test_cuda_python_bypass_breaks_real_speech_only_and_is_caught_and_removed(pip_index, tmp_path):
    name = f"parakeet-asr-hazard{SUFFIX}"
    url = f"http://127.0.0.1:{HAZARD_PORT}"
    run_container(name, env={"ASR_HOST": "127.0.0.1", "ASR_PORT": str(HAZARD_PORT), "ASR_CUDA_GRAPHS": "on"},
                  overlay=True)
    speech = (AUDIO / "single_speaker.wav").read_bytes()
    reference = (AUDIO / "single_speaker.txt").read_text()
    try:
        assert _wait_loaded(url)["phase"] == "ready"

        # The naive way: plain pip. NGC's constraint file does not stop cuda-python.
        naive = dexec(name, "python", "-m", "pip", "install", "--index-url", pip_index, "asr-extras")
        assert naive.returncode == 0, naive.stdout + naive.stderr
        subprocess.run(["docker", "restart", name], check=True, capture_output=True)
        _wait_loaded(url)
        silent = _transcribe(url, _silence())
        assert silent.status_code == 200 and silent.json()["text"].strip() == ""  # the silence check is fooled
        real = _transcribe(url, speech)
        assert real.status_code >= 500 and "illegal memory access" in real.text

        # container_pip catches it, and removes it.
        found = container_pip({"container": name, "manifest_dir": str(tmp_path)})
        assert found["failed"] and "cuda-python 12.9.0" in found["msg"] and "cuda-bindings" in found["msg"]
        fixed = container_pip({"container": name, "remove_denied": True, "manifest_dir": str(tmp_path)})
        assert fixed["changed"] and sorted(fixed["removed_denied"]) == ["cuda-bindings==12.9.0", "cuda-python==12.9.0"]
        subprocess.run(["docker", "restart", name], check=True, capture_output=True)
        assert _wait_loaded(url)["phase"] == "ready"
        healed = _transcribe(url, speech)
        assert healed.status_code == 200 and wer(reference, healed.json()["text"]) <= 0.25
    finally:
        remove(name)


def test_a_cuda_module_under_another_name_is_refused_and_real_speech_keeps_working(pip_index, tmp_path):
    """speech-turbo pulls in accel-kernels, which ships a top-level cuda package: plain pip lets it in and real
    speech crashes; container_pip refuses it before installing, and names and removes it when it got in anyway."""
    name = f"parakeet-asr-turbo{SUFFIX}"
    url = f"http://127.0.0.1:{HAZARD_PORT}"
    # The bench image's overlay engine reproduces the hazard (cuda importable, CUDA graphs allowed), loads fast.
    run_container(name, env={"ASR_HOST": "127.0.0.1", "ASR_PORT": str(HAZARD_PORT), "ASR_CUDA_GRAPHS": "on"},
                  overlay=True)
    speech = (AUDIO / "single_speaker.wav").read_bytes()
    reference = (AUDIO / "single_speaker.txt").read_text()
    try:
        assert _wait_loaded(url)["phase"] == "ready"
        before = freeze(name)
        refused = container_pip({"container": name, "index_url": pip_index, "packages": ["speech-turbo"],
                                 "manifest_dir": str(tmp_path)})
        assert refused["failed"] and refused["refusals"][0]["module"] == "cuda", refused["msg"]
        assert freeze(name) == before
        fine = _transcribe(url, speech)
        assert fine.status_code == 200 and wer(reference, fine.json()["text"]) <= 0.25

        naive = dexec(name, "python", "-m", "pip", "install", "--index-url", pip_index, "speech-turbo")
        assert naive.returncode == 0, naive.stdout + naive.stderr
        subprocess.run(["docker", "restart", name], check=True, capture_output=True)
        _wait_loaded(url)
        crashed = _transcribe(url, speech)
        assert crashed.status_code >= 500 and "illegal memory access" in crashed.text

        found = container_pip({"container": name, "manifest_dir": str(tmp_path)})
        assert found["failed"] and found["denied_modules"] == ["cuda"]
        assert "makes denied module(s) importable: cuda from " in found["msg"]
        assert "installed by accel-kernels" in found["msg"]
        fixed = container_pip({"container": name, "remove_denied": True, "manifest_dir": str(tmp_path)})
        assert fixed["changed"] and fixed["removed_denied"] == ["accel-kernels==1.0.0"], fixed.get("msg")
        subprocess.run(["docker", "restart", name], check=True, capture_output=True)
        assert _wait_loaded(url)["phase"] == "ready"
        healed = _transcribe(url, speech)
        assert healed.status_code == 200 and wer(reference, healed.json()["text"]) <= 0.25
    finally:
        remove(name)


# -- index credentials: used, never shown, never stored ------------------------------------------
PASSWORD = "hunter2-Zq8"


class AuthIndex:
    """The bench's built index served from this process on 127.0.0.1, answering only with the right login."""

    def __init__(self, folder: Path) -> None:
        import base64
        import functools
        import http.server
        import threading

        expected = "Basic " + base64.b64encode(f"ci:{PASSWORD}".encode()).decode()
        seen = self.seen = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_GET(self):
                ok = self.headers.get("Authorization") == expected
                seen.append((self.path, ok))
                if not ok:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="bench"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/simple/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _ansible_vvv(args: dict) -> subprocess.CompletedProcess:
    """The module run as a person runs it, at -vvv with the default output."""
    cmd = [str(BIN / "ansible"), "localhost", "-vvv", "-m", "spark_control.audio.container_pip", "-a",
           json.dumps(args), "-e", f"ansible_python_interpreter={sys.executable}"]
    env = ansible_env() | {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "0"}
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=600)


def test_index_credentials_reach_pip_but_no_output_and_no_file(target, pip_index, tmp_path):
    # Its own copy of the index, so the test does not depend on which folder
    # the bench's index container happens to serve.
    folder = tmp_path / "index"
    subprocess.run([sys.executable, str(REPO / "tests" / "bench" / "pypi" / "build_index.py"), str(folder)],
                   check=True, capture_output=True)
    index = AuthIndex(folder)
    try:
        url = index.url.replace("http://", f"http://ci:{PASSWORD}@")
        done = _ansible_vvv({"container": target, "index_url": url, "packages": ["loose-torch-user"],
                             "manifest_dir": str(tmp_path)})
        assert "CHANGED" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
        assert PASSWORD not in done.stdout + done.stderr
        assert "ci:********@127.0.0.1" in done.stdout  # the invocation shows the URL, masked
        # pip really used the login (from the netrc file): every request it sent was authorised.
        assert index.seen and all(ok for _path, ok in index.seen), index.seen
        assert versions(target)["loose-torch-user"] == "1.0.0"
        manifest = tmp_path / f"{target}.json"
        assert PASSWORD not in manifest.read_text()
        assert oct(manifest.stat().st_mode & 0o777) == "0o600" and oct(tmp_path.stat().st_mode & 0o777) != "0o777"
        assert json.loads(manifest.read_text())["sources"]["credentials_not_recorded"] == ["index_url"]
        # No scratch folder (with the netrc file) is left behind.
        assert dexec(target, "sh", "-c", "ls -d /tmp/spark-container-pip-* 2>/dev/null").stdout == ""
    finally:
        index.close()


def test_the_probe_of_an_index_with_credentials_connects_to_its_host(shared_target, tmp_path):
    dead = DEAD_INDEX.replace("http://", f"http://ci:{PASSWORD}@")
    done = _ansible_vvv({"container": shared_target, "index_url": dead, "packages": ["loose-torch-user"],
                         "retries": 0, "manifest_dir": str(tmp_path)})
    assert "FAILED" in done.stdout and PASSWORD not in done.stdout + done.stderr
    # Looked up as a host name, "ci:...@127.0.0.1" would fail name resolution; the host itself refuses.
    assert f"{DEAD_INDEX}: URLError: [Errno 111] Connection refused" in done.stdout, done.stdout[-3000:]
    assert "Name or service not known" not in done.stdout and "nodename nor servname" not in done.stdout
