"""The collection in an execution environment, as AWX / AAP run it, against a bare audio host over SSH.

ansible-builder introspects the installed collection and builds the EE from
execution-environment.yml on the project's Debian base (offline); inside it,
ansible-runner (Docker as the container engine) prepares the bare host from
a wheelhouse, reapplies the patches and runs the deep health with real
speech, the way AWX job templates would: a project playbook importing the
collection's, an inventory with the audio group, the SSH key as a Machine
credential, the API token as a credential's extra var, the reports on a
mounted path. The tests share one host and run in file order.
"""
from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET

import yaml

from execution_environment import EE_FILE, ee_image, ee_job, ee_tools  # noqa: F401 (fixtures)
from support import CACHE, PINS, REPO, must, recap, run

PLAYBOOKS = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))


def _pin(path: str, name: str) -> str:
    lines = (REPO / path).read_text().splitlines()
    return next(line.split("==", 1)[1].strip() for line in lines if line.startswith(f"{name}=="))


def test_introspect_lists_the_installed_collection_requirements(ee_tools, fresh_controller):
    done = must(run([ee_tools / "ansible-builder", "introspect", fresh_controller.home / "collections"]))
    listed = yaml.safe_load(done.stdout)
    ours = "# from collection spark_control.audio"
    assert f"packaging>=21.3  {ours}" in listed["python"], done.stdout
    assert f"pip>=23.1  {ours}" in listed["python"], done.stdout
    assert f"openssh-client [platform:dpkg]  {ours}" in listed["system"], done.stdout
    assert f"openssh-clients [platform:rpm]  {ours}" in listed["system"], done.stdout


def test_the_definition_pins_what_the_controller_and_the_ee_requirements_pin():
    definition = yaml.safe_load(EE_FILE.read_text())
    core = _pin("requirements/controller.txt", "ansible-core")
    assert definition["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core=={core}"
    assert _pin("requirements/ee.txt", "ansible-core") == core
    runner = _pin("requirements/ee.txt", "ansible-runner")
    assert definition["dependencies"]["ansible_runner"]["package_pip"] == f"ansible-runner=={runner}"


def test_the_ee_holds_ansible_core_runner_and_the_collection_only(ee_image):
    script = ("ansible --version | head -1; ansible-runner --version; python -m pip --version; "
              "ansible-galaxy collection list; "
              "command -v ssh ssh-agent ssh-add; python -c 'import docker' 2>&1 | tail -1; "
              "ls /opt/ee/venv/pip.conf /output 2>&1; id -u")
    out = must(run(["docker", "run", "--rm", "--network", "none", ee_image, "bash", "-c", script])).stdout
    assert f"ansible [core {_pin('requirements/controller.txt', 'ansible-core')}]" in out, out
    assert _pin("requirements/ee.txt", "ansible-runner") in out
    assert f"pip {_pin('requirements/ee.txt', 'pip')} from /opt/ee/venv" in out
    assert re.search(r"^spark_control\.audio\s+0\.1\.0", out, re.M), out
    assert "community." not in out  # shipped content needs ansible.builtin only
    assert "/usr/bin/ssh-agent" in out and "/usr/bin/ssh-add" in out
    # The audio hosts' libraries stay on the audio hosts; the build's pip.conf and /output are gone.
    assert "No module named 'docker'" in out
    assert "cannot access '/opt/ee/venv/pip.conf'" in out and "cannot access '/output'" in out
    assert out.strip().splitlines()[-1] == "1000"  # as AWX on Kubernetes runs it: not root


def test_every_shipped_playbook_passes_syntax_check_in_the_ee(ee_image):
    checks = " && ".join(f"ansible-playbook --syntax-check -i localhost, spark_control.audio.{name}"
                         for name in PLAYBOOKS)
    done = run(["docker", "run", "--rm", "--network", "none", ee_image, "bash", "-c", checks])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("playbook: ") == len(PLAYBOOKS)


def test_prepare_the_bare_host_from_the_ee(ee_job, bare_host):
    # The wheelhouse on a mounted path, as an AWX instance would keep it between jobs (the bare-host
    # stage fills it; wheels it lacks the EE downloads).
    job = ee_job.run("prepare_audio_hosts", {"audio_host_source": "wheelhouse",
                                             "audio_host_wheelhouse_cache": "/wheelhouse"},
                     mounts=(f"{CACHE / 'wheelhouse-hosts'}:/wheelhouse:Z",), pip_from_host=True)
    assert job.rc == 0, job.stdout[-4000:]
    assert re.search(r"spark2-bare: (created|updated|audio-host venv \S+ already current)", job.stdout), \
        job.stdout[-3000:]
    assert bare_host.freeze() == PINS


def test_reapply_patches_in_the_ee(ee_job):
    job = ee_job.run("reapply_patches")
    assert job.rc == 0, job.stdout[-4000:]
    assert recap(job)["failed"] == 0
    assert re.search(r"spark2-bare: (applied|already current) \(.*real speech OK, WER 0\.\d\d", job.stdout), \
        job.stdout[-3000:]


def test_deep_health_in_the_ee_writes_reports_to_a_mounted_path(ee_job, tmp_path):
    token = f"ee-test-{secrets.token_hex(8)}"
    reports = tmp_path / "reports"
    reports.mkdir()
    job = ee_job.run("deep_health", {"spark_audio_api_token": token, "deep_health_report_dir": "/reports"},
                     mounts=(f"{reports}:/reports:Z",))
    assert job.rc == 0, job.stdout[-4000:]
    assert re.search(r"spark2-bare: HEALTHY \(\d+/\d+ probes passed", job.stdout), job.stdout[-3000:]
    result = json.loads((reports / "deep_health.json").read_text())
    assert result["healthy"] is True and result["hosts"]["spark2-bare"]["healthy"] is True, result
    suites = ET.parse(reports / "deep_health.xml").getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests")) > 0
    assert 'spark_audio_probe_success{host="spark2-bare",probe="stt:single_speaker"} 1' in \
        (reports / "deep_health.prom").read_text()
    # The credential's token reached the module (no_log) but neither the output nor the job events AWX stores.
    assert token not in job.stdout and token not in job.events()
