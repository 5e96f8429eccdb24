"""A fresh controller and a really bare audio host, for real.

* ``fresh_controller``: a virtualenv with only ``requirements/controller.txt``
  (ansible-core), reused while that file is unchanged
  (``.cache/fresh-controller/``), and the collection built into a tarball
  and installed with ``ansible-galaxy collection install`` into a folder of
  its own: nothing of the dev venv (no ``ansible`` package, no
  community.docker) and nothing of this checkout is visible to it.
* ``bare_host``: a container of ``spark-bench/bare-host`` (Debian's python3 and
  python3-venv, an OpenSSH server on 127.0.0.1, user ``spark`` with key login
  and passwordless sudo, the Docker socket mounted) reached over real SSH with
  a key and a known_hosts made for this session. It manages the bench's
  containers (suffix ``SPARK_BENCH_SUFFIX``) as a Spark does.

Teardown always removes the host and puts the bench's parakeet-asr back to
its image (the tests apply the overlay to it).
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from support import CACHE, DEV_BIN, INVENTORY, OFFSET, REPO, SUFFIX, VENV, cached_venv, must, run


def _bench_playbook(name: str) -> None:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    must(run([DEV_BIN / "ansible-playbook", "-i", "tests/bench/inventory.yml", f"tests/bench/playbooks/{name}"],
             cwd=REPO, env=env))


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


@dataclass
class Controller:
    bin: Path
    env: dict
    home: Path
    tarball: Path  # the collection as users get it (ansible-galaxy collection build)

    def playbook(self, name: str, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        """``ansible-playbook spark_control.audio.<name>`` against the bare host, from the fresh controller."""
        return run([self.bin / "ansible-playbook", "-i", INVENTORY, f"spark_control.audio.{name}", *args],
                   timeout=timeout, cwd=self.home, env=self.env)


@pytest.fixture(scope="session")
def fresh_controller(tmp_path_factory) -> Controller:
    venv = CACHE / "fresh-controller/venv"
    cached_venv(REPO / "requirements/controller.txt", venv)
    home = tmp_path_factory.mktemp("fresh-controller")
    # Only ansible-core's defaults and the installed collection: no checkout
    # ansible.cfg, no ~/.ansible collections, no site-packages collections.
    cfg = home / "ansible.cfg"
    cfg.write_text("[defaults]\ncollections_path = {0}\nretry_files_enabled = false\n"
                   "callback_result_format = yaml\n".format(home / "collections"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", ANSIBLE_CONFIG=str(cfg), ANSIBLE_HOME=str(home / ".ansible"),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    dist = home / "dist"
    must(run([venv / "bin/ansible-galaxy", "collection", "build", "--output-path", dist, REPO], cwd=home, env=env))
    tarball = next(dist.glob("spark_control-audio-*.tar.gz"))
    must(run([venv / "bin/ansible-galaxy", "collection", "install", "--force", "--collections-path",
              home / "collections", tarball], cwd=home, env=env))
    return Controller(venv / "bin", env, home, tarball)


def _free_port() -> int:
    """A free loopback port in 2200-2299, starting from this bench's share of the range."""
    start = 2200 + (OFFSET // 100) % 100
    for port in [*range(start, 2300), *range(2200, start)]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port in 127.0.0.1:2200-2299 for the bare host's sshd")


@dataclass
class BareHost:
    name: str
    port: int
    env: dict

    def sh(self, script: str, timeout: int = 300) -> subprocess.CompletedProcess:
        """A root shell command inside the host (set-up and inspection, not the collection's path)."""
        return run(["docker", "exec", self.name, "sh", "-c", script], timeout=timeout)

    def freeze(self) -> dict:
        """name -> version (or the ``@ url`` of a direct install) of what the venv holds."""
        out = must(self.sh(f"{VENV}/bin/python -m pip freeze --disable-pip-version-check")).stdout
        found = (re.match(r"^([^=@ ]+)\s*(?:==|@)\s*(.*)$", line) for line in out.splitlines() if line.strip())
        return {re.sub(r"[-_.]+", "-", m.group(1)).lower(): m.group(2) for m in found if m}


@pytest.fixture(scope="session")
def bare_host(tmp_path_factory, fresh_controller) -> BareHost:
    bench = [f"http://127.0.0.1:{p + OFFSET}/health" for p in (8010, 8880, 9999)]
    if not all(_answers(u) for u in bench):
        _bench_playbook("up.yml")
    must(run([sys.executable, REPO / "tests/bench/build_images.py", "bare-host"]))
    keys = tmp_path_factory.mktemp("bare-host-ssh")
    must(run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bare-host-test", "-f", keys / "id"]))
    name = f"bare-host{SUFFIX}"
    run(["docker", "rm", "-f", name])
    port = _free_port()
    must(run(["docker", "run", "--detach", "--name", name, "--network", "host", "--label", "spark-bench.member=true",
              "--env", f"SSH_PORT={port}", "--env", f"AUTHORIZED_KEY={(keys / 'id.pub').read_text().strip()}",
              "--volume", "/var/run/docker.sock:/var/run/docker.sock", "spark-bench/bare-host:latest"]))
    try:
        known = ""
        deadline = time.monotonic() + 30
        while not known and time.monotonic() < deadline:
            known = run(["ssh-keyscan", "-T", "2", "-p", port, "127.0.0.1"], timeout=10).stdout
            time.sleep(0 if known else 0.5)
        assert known, f"sshd of {name} did not answer on 127.0.0.1:{port}:\n{run(['docker', 'logs', name]).stderr}"
        (keys / "known_hosts").write_text(known)
        env = {"BARE_HOST_PORT": str(port), "BARE_HOST_KEY": str(keys / "id"),
               "BARE_HOST_KNOWN_HOSTS": str(keys / "known_hosts")}
        fresh_controller.env.update(env)
        yield BareHost(name, port, env)
    finally:
        run(["docker", "rm", "-f", name])
        run(["docker", "rm", "-f", f"parakeet-asr{SUFFIX}"])
        _bench_playbook("up.yml")
