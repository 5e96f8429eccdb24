"""From a bare audio host and a bare controller to a working stack, over real SSH.

In order, as a new user meets it: the fresh controller (ansible-core and the
built tarball only) syntax-checks every shipped playbook; on the bare host
reapply_patches.yml fails with the one line naming prepare_audio_hosts.yml;
prepare_audio_hosts.yml reports its clear errors (no venv module, no route to
the index), previews in check mode, then prepares the host from the
controller's wheelhouse; reapply_patches.yml and deep_health.yml pass with
real speech; preparing again changes nothing; drift is repaired from an
index. The tests share one host and run in file order.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import socket
import subprocess
import sys
import tarfile
import zipfile

import pytest

from support import CACHE, PINS, REPO, VENV, must, recap, run

WHEELHOUSE = ["-e", f"audio_host_wheelhouse_cache={CACHE / 'wheelhouse-hosts'}"]
PLAYBOOKS = sorted(p.stem for p in (REPO / "playbooks").glob("*.yml"))


def output(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


def assert_no_traceback(done: subprocess.CompletedProcess) -> None:
    text = output(done)
    assert "Traceback" not in text and "No module named" not in text, text[-3000:]


def test_the_fresh_controller_has_only_ansible_core(fresh_controller):
    freeze = must(run([fresh_controller.bin / "python", "-m", "pip", "freeze"])).stdout.lower()
    assert "ansible-core==" in freeze
    assert not re.search(r"^(ansible|docker|jiwer|numpy)==", freeze, re.M), freeze
    listed = must(run([fresh_controller.bin / "ansible-galaxy", "collection", "list"], cwd=fresh_controller.home,
                      env=fresh_controller.env)).stdout
    assert "spark_control.audio" in listed and "community." not in listed, listed


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_every_shipped_playbook_passes_syntax_check(fresh_controller, name):
    done = fresh_controller.playbook(name, "--syntax-check")
    assert done.returncode == 0, output(done)[-3000:]


def test_an_unprepared_host_fails_reapply_with_one_line(fresh_controller, bare_host):
    done = fresh_controller.playbook("reapply_patches")
    assert done.returncode != 0
    assert recap(done)["failed"] == 1
    fatal = [line for line in done.stdout.splitlines() if "this audio host is not prepared" in line]
    assert fatal, output(done)[-3000:]
    assert "Action failed: this audio host is not prepared" in done.stdout
    assert f"{VENV}/bin/python does not exist. Run playbooks/prepare_audio_hosts.yml" in done.stdout
    assert "package reinstall failed" not in done.stdout  # the hint alone, not wrapped
    assert_no_traceback(done)


def test_an_unprepared_host_is_named_in_the_deep_health_summary(fresh_controller, bare_host, tmp_path):
    done = fresh_controller.playbook("deep_health", "-e", f"deep_health_report_dir={tmp_path}")
    assert done.returncode != 0
    assert re.search(r"spark2-bare: .*this audio host is not prepared", done.stdout), output(done)[-3000:]
    assert (tmp_path / "deep_health.json").exists()  # the reports are still written
    assert_no_traceback(done)


def test_no_venv_module_names_the_package_to_install(fresh_controller, bare_host):
    python = must(bare_host.sh("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")).stdout.strip()
    stdlib = f"/usr/lib/python{python}"
    # What a host without python3.X-venv looks like: Debian ships ensurepip in that package.
    must(bare_host.sh(f"mv {stdlib}/ensurepip {stdlib}/ensurepip.away"))
    try:
        done = fresh_controller.playbook("prepare_audio_hosts")
    finally:
        must(bare_host.sh(f"mv {stdlib}/ensurepip.away {stdlib}/ensurepip"))
    assert done.returncode != 0
    assert f"install the Debian/Ubuntu package python{python}-venv" in done.stdout, output(done)[-3000:]
    assert must(bare_host.sh(f"test ! -e {VENV} && echo absent")).stdout.strip() == "absent"


def test_an_unreachable_index_says_to_use_the_wheelhouse(fresh_controller, bare_host):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    # The index's login must reach pip but not argv (ps on the host) or the task results (-v, AWX job events).
    done = fresh_controller.playbook("prepare_audio_hosts", "-v", "-e",
                                     f"audio_host_index_url=http://ci:S3CRETTOKEN@127.0.0.1:{port}/simple")
    assert done.returncode != 0
    assert "the host cannot reach the package index (" in done.stdout, output(done)[-3000:]
    assert "-e audio_host_source=wheelhouse" in done.stdout
    assert "S3CRETTOKEN" not in output(done)
    assert_no_traceback(done)


def test_check_mode_previews_without_changing(fresh_controller, bare_host):
    before = bare_host.sh(f"ls -R {VENV} 2>/dev/null | sha256sum").stdout
    done = fresh_controller.playbook("prepare_audio_hosts", "--check", "-e", "audio_host_source=wheelhouse",
                                     *WHEELHOUSE)
    must(done)
    assert recap(done)["changed"] == 1
    assert "would update the audio-host venv" in done.stdout or "would create the audio-host venv" in done.stdout
    assert "docker==7.2.0" in done.stdout
    assert bare_host.sh(f"ls -R {VENV} 2>/dev/null | sha256sum").stdout == before


def test_prepare_from_the_wheelhouse(fresh_controller, bare_host):
    done = must(fresh_controller.playbook("prepare_audio_hosts", "-e", "audio_host_source=wheelhouse", *WHEELHOUSE))
    assert recap(done)["changed"] > 0
    assert re.search(r"spark2-bare: (created|updated) the audio-host venv /opt/spark_control/venv\s+from the\s+wheelhouse",
                     done.stdout), done.stdout[-3000:]
    assert bare_host.freeze() == PINS
    # The wheels came from the controller and were installed with --no-index.
    listed = must(bare_host.sh(f"ls {VENV}/wheelhouse")).stdout.split()
    assert any(n.startswith("numpy-") and n.endswith(".whl") for n in listed)
    # No ansible-core on the audio host, and no system pip was touched (PEP 668 hosts refuse it).
    assert "ansible-core" not in bare_host.freeze()
    assert must(bare_host.sh("python3 -c 'import docker' 2>&1 || echo absent")).stdout.strip().endswith("absent")


def test_reapply_and_deep_health_pass_with_real_speech(fresh_controller, bare_host, tmp_path):
    reapply = must(fresh_controller.playbook("reapply_patches"))
    assert re.search(r"spark2-bare: (applied|already current) \(.*real speech OK, WER 0\.\d\d", reapply.stdout), \
        reapply.stdout[-3000:]
    health = must(fresh_controller.playbook("deep_health", "-e", f"deep_health_report_dir={tmp_path}"))
    assert re.search(r"spark2-bare: HEALTHY \(\d+/\d+ probes passed", health.stdout), health.stdout[-3000:]
    assert "ok   stt:single_speaker" in health.stdout and "ok   diarization" in health.stdout


def test_preparing_again_changes_nothing(fresh_controller, bare_host):
    for extra in ([], ["--check"]):
        done = must(fresh_controller.playbook("prepare_audio_hosts", "-e", "audio_host_source=wheelhouse",
                                              *WHEELHOUSE, *extra))
        assert recap(done)["changed"] == 0, done.stdout[-3000:]
        assert "spark2-bare: audio-host venv /opt/spark_control/venv already current (14 packages" in \
            re.sub(r"\s+", " ", done.stdout)


def _stray_wheel() -> tuple[str, bytes]:
    """A tiny pure-Python wheel of a project the pins do not name."""
    name = "spark_stray-1.0-py3-none-any.whl"
    files = {"spark_stray.py": b"", "spark_stray-1.0.dist-info/METADATA":
             b"Metadata-Version: 2.1\nName: spark-stray\nVersion: 1.0\n",
             "spark_stray-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                                b"Tag: py3-none-any\n"}
    record = "".join(f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},"
                     f"{len(d)}\n" for p, d in files.items()) + "spark_stray-1.0.dist-info/RECORD,,\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as wheel:
        for path, data in {**files, "spark_stray-1.0.dist-info/RECORD": record.encode()}.items():
            wheel.writestr(path, data)
    return name, buf.getvalue()


def _put(bare_host, folder: str, name: str, data: bytes) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    done = subprocess.run(["docker", "exec", "-i", bare_host.name, "tar", "-x", "-C", folder], input=buf.getvalue(),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_drift_is_repaired_from_an_index(fresh_controller, bare_host, tmp_path):
    # Drift: a pinned package gone, a stray one installed by hand.
    stray, data = _stray_wheel()
    must(bare_host.sh(f"mkdir -p /tmp/stray && {VENV}/bin/python -m pip uninstall --yes --quiet docopt"))
    _put(bare_host, "/tmp/stray", stray, data)
    must(bare_host.sh(f"{VENV}/bin/python -m pip install --quiet --no-index /tmp/stray/{stray}"))
    assert "spark-stray" in bare_host.freeze() and "docopt" not in bare_host.freeze()
    # An index on loopback (the host shares the host network), laid out from the controller's wheelhouse.
    platform_dir = next((CACHE / "wheelhouse-hosts").iterdir())
    simple = tmp_path / "simple"
    for wheel in platform_dir.glob("*.whl"):
        project = simple / re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()
        project.mkdir(parents=True, exist_ok=True)
        (project / wheel.name).symlink_to(wheel)
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory", tmp_path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = int(re.search(r"port (\d+)", server.stdout.readline()).group(1))
        done = must(fresh_controller.playbook("prepare_audio_hosts", "-e",
                                              f"audio_host_index_url=http://127.0.0.1:{port}/simple"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert recap(done)["changed"] > 0
    text = re.sub(r"\s+", " ", done.stdout)
    assert "updated the audio-host venv /opt/spark_control/venv from the index" in text, text[-2000:]
    assert "installed docopt==0.6.2; removed spark-stray" in text
    assert bare_host.freeze() == PINS
