"""docker exec plumbing of container_pip, with a stand-in Docker API; the in-container
scripts themselves run for real with this Python."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

import pytest
from docker.errors import NotFound
from requests.exceptions import ReadTimeout

from ansible_collections.spark_control.audio.plugins.module_utils._pip import container
from ansible_collections.spark_control.audio.plugins.module_utils._pip.container import ContainerExecError, ContainerPython


class FakeContainer:
    id = "c0ffee"
    name = "parakeet-asr"
    attrs = {"Config": {"Env": ["PATH=/usr/bin", "PIP_CONSTRAINT=/etc/pip/constraint.txt"]}}

    def __init__(self, answers=()):
        self.answers = list(answers)  # (exit code, output bytes) or an exception, one per exec
        self.runs = []
        self.archives = {}
        self.put = []

    def exec_run(self, argv, environment=None, stdout=True, stderr=True, demux=False):
        self.runs.append((argv, environment))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return type("ExecResult", (), {"exit_code": answer[0], "output": answer[1]})()

    def get_archive(self, path):
        if path not in self.archives:
            raise NotFound("no such file")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(path.rsplit("/", 1)[-1])
            info.size = len(self.archives[path])
            tar.addfile(info, io.BytesIO(self.archives[path]))
        return iter([buf.getvalue()]), {}

    def put_archive(self, path, data):
        self.put.append((path, data))
        return True


def pyc(*answers):
    return ContainerPython(FakeContainer(answers), "python")


def snapshot_answer(pip="23.0.1", dists=(("torch", "2.9.0a0+x.nv25.10"),), files=None):
    return (0, (json.dumps({"pip": pip, "dists": [list(d) for d in dists], "files": files or {}}) + "\n").encode())


def test_snapshot_reads_pip_packages_and_files():
    box = pyc(snapshot_answer(files={"/etc/pip/constraint.txt": "torch==1\n", "/nope": None}))
    snap = box.snapshot(["/etc/pip/constraint.txt", "/nope"])
    assert snap.pip_version == "23.0.1" and snap.installed == {"torch": ("torch", "2.9.0a0+x.nv25.10")}
    assert snap.files == {"/etc/pip/constraint.txt": "torch==1\n", "/nope": None}
    argv, _unused = box.container.runs[0]
    assert argv[:2] == ["python", "-c"] and argv[3:] == ["/etc/pip/constraint.txt", "/nope"]


@pytest.mark.parametrize("pip,needle", [(None, "pip is not installed for 'python'"), ("21.3.1", "too old")])
def test_snapshot_refuses_missing_or_old_pip(pip, needle):
    with pytest.raises(ContainerExecError, match=needle):
        pyc(snapshot_answer(pip=pip)).snapshot()


def test_missing_interpreter_is_named():
    box = pyc((127, b'OCI runtime exec failed: exec: "python": executable file not found in $PATH'))
    with pytest.raises(ContainerExecError, match="set the module's python option"):
        box.snapshot()


def test_timeout_says_what_to_raise():
    with pytest.raises(ContainerExecError, match="raise pip_timeout"):
        pyc(ReadTimeout("read timed out")).pip(["install", "x"])


def test_pip_runs_as_module_with_env_and_quiet_flags():
    box = pyc((0, b"ok"))
    done = box.pip(["install", "x"], {"PIP_CONSTRAINT": "/tmp/c.txt"})
    argv, env = box.container.runs[0]
    assert argv == ["python", "-m", "pip", "--disable-pip-version-check", "--no-input", "install", "x"]
    assert env == {"PIP_CONSTRAINT": "/tmp/c.txt"} and done.rc == 0 and done.output == "ok"


def test_read_text_through_the_archive_api():
    box = pyc()
    box.container.archives["/tmp/r.json"] = b'{"install": []}'
    assert box.read_text("/tmp/r.json") == '{"install": []}'
    assert box.read_text("/tmp/missing.json") is None
    assert box.container.runs == []  # no process started for reads


def test_scratch_folder_and_file_in_one_archive():
    box = pyc()
    folder = box.make_scratch()
    assert folder.startswith("/tmp/spark-container-pip-") and folder != box.make_scratch()
    path = box.write_text(folder, "constraints.txt", "torch==1\n")
    parent, data = box.container.put[0]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = {m.name: m for m in tar.getmembers()}
    top = folder.rsplit("/", 1)[1]
    assert parent == "/tmp" and path == f"{folder}/constraints.txt"
    assert names[top].isdir() and names[top].mode == 0o700
    assert names[f"{top}/constraints.txt"].size == len("torch==1\n")


def test_environment_from_the_container_config():
    assert pyc().environment()["PIP_CONSTRAINT"] == "/etc/pip/constraint.txt"


def test_the_snapshot_script_runs_for_real(tmp_path):
    text = tmp_path / "c.txt"
    text.write_text("numpy==2\n")
    done = subprocess.run([sys.executable, "-c", container._SNAPSHOT, str(text), str(tmp_path / "missing")],
                          capture_output=True, text=True, check=True)
    data = json.loads(done.stdout)
    names = {name.lower() for name, _unused in data["dists"]}
    assert data["pip"] and "pytest" in names and "ansible-core" in names
    assert data["files"] == {str(text): "numpy==2\n", str(tmp_path / "missing"): None}


def test_the_import_and_probe_scripts_run_for_real():
    done = subprocess.run([sys.executable, "-c", container._IMPORTS, "json", "no_such_module_here"],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["json"] is None and result["no_such_module_here"].startswith("ModuleNotFoundError")
    done = subprocess.run([sys.executable, "-c", container._PROBE, "http://127.0.0.1:9/simple/", "/"],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert "Connection refused" in result["http://127.0.0.1:9/simple/"] and result["/"] is None
