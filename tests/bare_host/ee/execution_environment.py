"""The collection's execution environment, built with ansible-builder and run as AWX runs it.

* ``ee_tools``: ansible-builder and ansible-runner in their own venv
  (``requirements/ee-tools.txt`` -> ``.cache/ee-tools/venv``, reused while
  that file is unchanged).
* ``ee_image``: ``execution-environment.yml`` built by ``ansible-builder
  build`` on the project's own Debian base (``spark-bench/base``), offline
  as the bench images are: the EE's wheels (``requirements/ee.txt``) built
  on the host and the Debian packages bindep asks for downloaded by apt in
  a throwaway base container (``tests/bench/build_images.py`` does both),
  handed to the build through the definition's ``offline`` folder, and
  ``docker build --network=none``. The collection is the tarball users get
  (the fresh controller's). The image carries a hash of all of that
  (label ``spark-bench.inputs``) and is rebuilt only when it changes.
* ``ee_job``: ``ansible-runner run`` with Docker as the container engine,
  laid out as an AWX job: a project whose playbooks import the collection's,
  an inventory with the audio group, the bare host's SSH key as the Machine
  credential (``env/ssh_key``: ssh-agent inside the EE), extra vars and
  environment from credentials (``env/extravars``, ``env/envvars``).
"""
from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from support import CACHE, OFFSET, REPO, SUFFIX, cached_venv, must, run

EE_FILE = REPO / "execution-environment.yml"
TAG = os.environ.get("SPARK_BENCH_TAG", "latest")
IMAGE = f"spark-bench/ee:{TAG}"
BASE = "spark-bench/base:latest"
# Inside the EE build: where the definition's offline folder lands (its additional_build_files).
OFFLINE_WHEELS = "/output/spark/offline/wheels"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _build_images():
    """tests/bench/build_images.py as a module: the bench's wheelhouse, .deb download and input hash."""
    spec = importlib.util.spec_from_file_location("build_images", REPO / "tests/bench/build_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ee_tools() -> Path:
    return cached_venv(REPO / "requirements/ee-tools.txt", CACHE / "ee-tools/venv")


def collection_digest(tarball: Path) -> str:
    """The content hash a collection tarball records (sha256 of FILES.json, which lists every file's sha256)."""
    with tarfile.open(tarball) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    return manifest["file_manifest_file"]["chksum_sha256"]


def _debian_packages(tools: Path) -> list[str]:
    """What bindep asks for on Debian from the collection's meta/ee-bindep.txt (the host is Debian too)."""
    script = ("import sys\nfrom bindep.depends import Depends\nd = Depends(open(sys.argv[1]).read())\n"
              "print('\\n'.join(sorted({r[0] for r in d.active_rules(d.platform_profiles())})))")
    done = must(run([tools / "python", "-c", script, REPO / "meta/ee-bindep.txt"]))
    return done.stdout.split()


def _workspace(folder: Path, definition: dict, tarball: Path) -> Path:
    """The EE definition and the files it names, laid out as a user does: the tarball next to it."""
    folder.mkdir(parents=True)
    shutil.copy2(EE_FILE, folder / EE_FILE.name)
    for entry in definition.get("additional_build_files", []):
        if fnmatch.fnmatch(tarball.name, entry["src"]):
            continue  # the tarball under test, not one lying in the checkout
        for source in REPO.glob(entry["src"]):
            target = folder / source.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    shutil.copy2(tarball, folder / tarball.name)
    return folder


@pytest.fixture(scope="session")
def ee_image(ee_tools, fresh_controller, tmp_path_factory) -> str:
    definition = yaml.safe_load(EE_FILE.read_text())
    tarball = fresh_controller.tarball
    named = [c["name"] for c in definition["dependencies"]["galaxy"]["collections"]]
    assert named == [f"collections/{tarball.name}"], (
        f"execution-environment.yml installs {named}, but the collection builds as {tarball.name}: "
        "update its galaxy collection name (and options.tags) to galaxy.yml's version")
    bench = _build_images()
    client = bench.docker.from_env()
    base_digest = bench.build_base(client, force=False)
    work = _workspace(tmp_path_factory.mktemp("ee") / "definition", definition, tarball)
    # Inputs: the definition and its files, the base, the collection's content, the builder's version.
    inputs = [p for p in work.rglob("*") if p.is_file() and p.name != tarball.name]
    seed = f"{base_digest}:{collection_digest(tarball)}:{(REPO / 'requirements/ee-tools.txt').read_text()}"
    digest = bench.tree_hash(inputs, work, seed=seed)
    if bench.current_label(client, IMAGE) == digest:
        return IMAGE
    # Offline, as the bench images: wheels built on the host, .debs fetched by apt in a base container.
    wheels = bench.wheelhouse("ee", REPO / "requirements/ee.txt", sys.executable)
    listing = work.parent / "debs.txt"
    listing.write_text("\n".join(_debian_packages(ee_tools)) + "\n")
    debs = bench.debs(client, "ee", listing, base_digest)
    shutil.copytree(wheels, work / "offline/wheels")
    (work / "offline/debs").mkdir()
    for deb in debs.glob("*.deb"):
        shutil.copy2(deb, work / "offline/debs" / deb.name)
    done = run([ee_tools / "ansible-builder", "build", "--file", work / EE_FILE.name, "--context", work / "context",
                "--container-runtime", "docker", "--tag", IMAGE, "--verbosity", "2",
                "--build-arg", f"EE_BASE_IMAGE={BASE}", "--build-arg", "PIP_NO_INDEX=1",
                "--build-arg", f"PIP_FIND_LINKS={OFFLINE_WHEELS}",
                "--extra-build-cli-args", f"--network=none --label spark-bench.inputs={digest}"],
               timeout=1800, cwd=work, env=dict(os.environ, PATH=f"{ee_tools}:{os.environ['PATH']}"))
    assert done.returncode == 0, f"ansible-builder build failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    return IMAGE


@dataclass
class Job:
    rc: int
    stdout: str  # runner's output, stdout and stderr, colour codes removed
    private_data_dir: Path
    stderr: str = ""

    def events(self) -> str:
        """Every job event runner recorded (what AWX stores and shows), as one text."""
        return "\n".join(p.read_text() for p in self.private_data_dir.glob("artifacts/*/job_events/*.json"))


@dataclass
class EEJob:
    tools: Path
    image: str
    host_env: dict
    tmp: pytest.TempPathFactory

    def run(self, playbook: str, extravars: dict | None = None, mounts: tuple[str, ...] = (),
            pip_from_host: bool = False, timeout: int = 1200) -> Job:
        """One AWX-style job: ``playbook`` of the collection in the EE against the bare host.

        ``pip_from_host``: the EE's pip reaches the index as this machine's does (its PIP_INDEX_URL and
        CA bundle, PIP_CERT, mounted), as a site behind a TLS-inspecting proxy gives its EEs its CA.
        """
        pdd = self.tmp.mktemp(f"job-{playbook}")
        pip_env = {}
        if pip_from_host:
            if os.environ.get("PIP_INDEX_URL"):
                pip_env["PIP_INDEX_URL"] = os.environ["PIP_INDEX_URL"]
            if os.environ.get("PIP_CERT") and Path(os.environ["PIP_CERT"]).is_file():
                mounts = (*mounts, f"{os.environ['PIP_CERT']}:/etc/spark-host-ca.crt:ro")
                pip_env["PIP_CERT"] = "/etc/spark-host-ca.crt"
        (pdd / "project").mkdir()
        # An AWX project holds playbooks of its own; these import the collection's.
        (pdd / "project" / f"{playbook}.yml").write_text(
            f"---\n- name: {playbook} of spark_control.audio\n"
            f"  ansible.builtin.import_playbook: spark_control.audio.{playbook}\n")
        (pdd / "inventory").mkdir()
        shutil.copy2(REPO / "tests/bare_host/inventory.yml", pdd / "inventory/hosts.yml")
        shutil.copy2(self.host_env["BARE_HOST_KNOWN_HOSTS"], pdd / "known_hosts")
        env = pdd / "env"
        env.mkdir()
        # The Machine credential: runner loads the key into an ssh-agent inside the EE.
        shutil.copy2(self.host_env["BARE_HOST_KEY"], env / "ssh_key")
        (env / "envvars").write_text(json.dumps({
            "BARE_HOST_PORT": self.host_env["BARE_HOST_PORT"], "BARE_HOST_KNOWN_HOSTS": "/runner/known_hosts",
            "SPARK_BENCH_SUFFIX": SUFFIX, "SPARK_BENCH_PORT_OFFSET": str(OFFSET), **pip_env}))
        (env / "extravars").write_text(json.dumps(extravars or {}))
        # Host networking: the bare host's sshd and the bench listen on 127.0.0.1, as on a Spark.
        (env / "settings").write_text(json.dumps({
            "process_isolation": True, "process_isolation_executable": "docker", "container_image": self.image,
            "container_options": ["--network=host"], "container_volume_mounts": list(mounts)}))
        done = run([self.tools / "ansible-runner", "run", pdd, "--playbook", f"{playbook}.yml"], timeout=timeout,
                   env=dict(os.environ, PATH=f"{self.tools}:{os.environ['PATH']}"))
        return Job(done.returncode, ANSI.sub("", done.stdout + done.stderr), pdd)


@pytest.fixture(scope="session")
def ee_job(ee_tools, ee_image, bare_host, tmp_path_factory) -> EEJob:
    return EEJob(ee_tools, ee_image, bare_host.env, tmp_path_factory)
