"""A fleet of audio hosts: reapplying the overlay on 1, 5, 10 and 20 Sparks at once.

Every audio host is its own machine reached over real SSH, as operators reach
their Sparks: a container of the bench's bare-host image (Debian's python3,
sshd on 127.0.0.1, user ``spark`` with key login and sudo, the Docker socket
mounted) whose audio-host virtualenv was made by ``prepare_audio_hosts.yml``
once and committed into an image, so every host starts prepared. Each host
manages its own speech container (the bench's parakeet-asr image running
``sleep``: the reapply's own machinery is measured, not model loading, and a
speech check is a per-GPU cost that does not grow with the fleet).

One ``ansible-playbook`` run per measurement, hosts in parallel (forks = the
number of hosts, pipelining on), each host's work sequential: one
``speech_patch`` task (``become: true``, the overlay of
``files/parakeet_patches``). Measured: the no-op (overlay current) and a
one-file change (one upload, one restart per host), as wall time of the whole
process and the controller's CPU time (the process and its children:
ansible-playbook, its forks and their ssh clients) per host. A last row runs
20 hosts with pipelining off and with the 5 forks of Ansible's default, to show
which settings matter.

Writes the "fleet" section of BENCHMARKS.md; exits 1 when the goal (20 hosts
no-op at most 3x one host) is missed. Usage:
    .venv/bin/python benchmarks/fleet_reapply.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine, write_section  # noqa: E402

TAG = os.environ.get("SPARK_BENCH_TAG", "latest")
SUFFIX = os.environ.get("SPARK_BENCH_SUFFIX", "")
OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))
PREFIX = f"bench-fleet{SUFFIX}-"
SPEECH_IMAGE = f"spark-bench/parakeet-asr:{TAG}"
PREPARED_IMAGE = f"spark-bench/bare-host-prepared{SUFFIX or ''}:bench"
FIRST_PORT = 2400 + OFFSET % 500
SCALES = (1, 5, 10, 20)
GOAL = 3.0                     # 20 hosts no-op / 1 host no-op, wall time, at most
CHANGED_FILE = "asr_types.py"
VENV = "/opt/spark_control/venv"
BIN = Path(sys.executable).parent

PLAYBOOK = """
- hosts: "{{ fleet_hosts }}"
  gather_facts: false
  tasks:
    - name: speech_patch
      spark_control.audio.speech_patch:
        container: "{{ fleet_container }}"
        src: "{{ overlay_src }}"
        dest: /app
        backup_dir: /var/lib/spark_control/overlay-backups
        lock_dir: "{{ lock_dir }}"
"""


def sh(argv: list, timeout: int = 900, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False,
                          **kwargs)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-2000:]}")
    return done


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def container_cpu(container_id: str) -> float | None:
    """CPU seconds a container has used so far (cgroup v1 or v2), None when unreadable."""
    root = Path("/sys/fs/cgroup")
    v1 = root / "cpuacct" / "docker" / container_id / "cpuacct.usage"
    if v1.is_file():
        return int(v1.read_text()) / 1e9
    for v2 in (root / "system.slice" / f"docker-{container_id}.scope" / "cpu.stat",
               root / "docker" / container_id / "cpu.stat"):
        if v2.is_file():
            fields = dict(line.split() for line in v2.read_text().splitlines())
            return int(fields["usage_usec"]) / 1e6
    return None


def engine_cpu() -> float:
    """CPU seconds of the Docker engine so far (dockerd, containerd and its shims)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name in ("dockerd", "containerd") or name.startswith("containerd-shim"):
            fields = text[text.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


class Fleet:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.created: list[str] = []
        self.ids: dict[int, list[str]] = {}       # host index -> ids of its host and speech containers
        self.src = work / "overlay"
        shutil.copytree(REPO / "files" / "parakeet_patches", self.src,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-bench", "-f", work / "id"])
        self.key = (work / "id.pub").read_text().strip()
        (work / "reapply.yml").write_text(PLAYBOOK.lstrip())
        self.marker = 0

    # -- containers -----------------------------------------------------------
    def start_host(self, index: int, image: str) -> None:
        name = f"{PREFIX}host-{index:02d}"
        sh(["docker", "rm", "-f", name], check=False)
        self.created.append(name)
        host_id = sh(["docker", "run", "--detach", "--name", name, "--network", "host", "--label",
                      "spark-bench.member=true", "--env", f"SSH_PORT={FIRST_PORT + index}", "--env",
                      f"AUTHORIZED_KEY={self.key}", "--volume", "/var/run/docker.sock:/var/run/docker.sock",
                      image]).stdout.strip()
        speech = f"{PREFIX}speech-{index:02d}"
        sh(["docker", "rm", "-f", speech], check=False)
        self.created.append(speech)
        # --init: sleep would ignore the restart's SIGTERM and cost the whole stop timeout.
        speech_id = sh(["docker", "run", "--detach", "--init", "--name", speech, "--network", "none", "--label",
                        "spark-bench.member=true", SPEECH_IMAGE, "sleep", "infinity"]).stdout.strip()
        self.ids[index] = [host_id, speech_id]

    def wait_ssh(self, indexes: list[int]) -> None:
        known = []
        for index in indexes:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = sh(["ssh-keyscan", "-T", "2", "-p", FIRST_PORT + index, "127.0.0.1"], timeout=10,
                           check=False).stdout
                if found:
                    known.append(found)
                    break
                time.sleep(0.5)
            else:
                raise RuntimeError(f"sshd of host {index} did not answer on port {FIRST_PORT + index}")
        (self.work / "known_hosts").write_text("".join(known))

    def inventory(self, indexes: list[int], pipelining: bool = True) -> Path:
        hosts = {f"fleet{i:02d}": {"ansible_port": FIRST_PORT + i, "fleet_container": f"{PREFIX}speech-{i:02d}"}
                 for i in indexes}
        inventory = {"all": {"vars": {
            "ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_user": "spark", "ansible_become": True,
            "ansible_ssh_private_key_file": str(self.work / "id"), "ansible_ssh_pipelining": pipelining,
            "ansible_ssh_common_args": f"-o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.work / 'known_hosts'}",
            "spark_audio_venv": VENV, "ansible_python_interpreter": f"{VENV}/bin/python"},
            "children": {"audio": {"hosts": hosts}}}}
        path = self.work / f"inventory-{len(indexes)}{'' if pipelining else '-nopipe'}.json"
        path.write_text(json.dumps(inventory))
        return path

    def cleanup(self) -> None:
        for name in self.created:
            sh(["docker", "rm", "-f", name], check=False)

    # -- ansible --------------------------------------------------------------
    def env(self, forks: int) -> dict:
        return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORKS=str(forks),
                    ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache" / "collections"), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_HOME=str(self.work / "ansible-home"))

    def reapply(self, indexes: list[int], forks: int | None = None, pipelining: bool = True) -> dict:
        """One run over the hosts; wall seconds, controller CPU seconds, and what each host reported."""
        inventory = self.inventory(indexes, pipelining)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        hosts_before, engine_before = self.hosts_cpu(indexes), engine_cpu()
        start = time.perf_counter()
        done = sh([BIN / "ansible-playbook", "-i", inventory, self.work / "reapply.yml", "-e",
                   json.dumps({"fleet_hosts": "audio", "overlay_src": str(self.src),
                               "lock_dir": str(self.work / "locks")}), "-v"],
                  env=self.env(forks or len(indexes)), timeout=1800, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        hosts_after = self.hosts_cpu(indexes)
        hosts = None if None in (hosts_before, hosts_after) else hosts_after - hosts_before
        engine = engine_cpu() - engine_before
        recap = [line for line in done.stdout.splitlines() if line.startswith("fleet") and "ok=" in line]
        broken = [r for r in recap if "failed=0" not in r or "unreachable=0" not in r]
        if done.returncode or len(recap) != len(indexes) or broken:
            raise RuntimeError(f"reapply on {len(indexes)} hosts failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")
        changed = sum(" changed=1 " in f" {r} " for r in recap)
        return {"wall": wall, "cpu": cpu, "hosts_cpu": hosts, "engine_cpu": engine, "changed": changed}

    def hosts_cpu(self, indexes: list[int]) -> float | None:
        """CPU seconds used so far by these hosts' containers (sshd, the module runs, the speech containers)."""
        used = [container_cpu(cid) for i in indexes for cid in self.ids[i]]
        return None if None in used else sum(used)

    def change_one_file(self) -> None:
        self.marker += 1
        path = self.src / CHANGED_FILE
        path.write_text((REPO / "files" / "parakeet_patches" / CHANGED_FILE).read_text()
                        + f"# fleet bench, change {self.marker}\n")


def prepared_image(fleet: Fleet) -> str:
    """The bare-host image with its audio-host venv made by prepare_audio_hosts.yml (built once, reused)."""
    if sh(["docker", "image", "inspect", PREPARED_IMAGE], check=False).returncode == 0:
        return PREPARED_IMAGE
    sh([sys.executable, REPO / "tests" / "bench" / "build_images.py", "bare-host"])
    fleet.start_host(0, "spark-bench/bare-host:latest")
    fleet.wait_ssh([0])
    prepare = sh([BIN / "ansible-playbook", "-i", fleet.inventory([0]), REPO / "playbooks" / "prepare_audio_hosts.yml",
                  "-e", json.dumps({"audio_host_source": "wheelhouse",
                                    "audio_host_wheelhouse_cache": str(REPO / ".cache" / "wheelhouse-hosts")})],
                 env=fleet.env(1), timeout=1800, check=False)
    if prepare.returncode:
        raise RuntimeError(f"prepare_audio_hosts.yml failed:\n{prepare.stdout[-4000:]}\n{prepare.stderr[-2000:]}")
    sh(["docker", "commit", f"{PREFIX}host-00", PREPARED_IMAGE])  # its CMD (sshd) is kept
    sh(["docker", "rm", "-f", f"{PREFIX}host-00"])
    return PREPARED_IMAGE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scales", default=",".join(map(str, SCALES)),
                        help="host counts to measure (the goal compares the largest with 1)")
    args = parser.parse_args()
    scales = tuple(int(n) for n in args.scales.split(","))
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))  # so the containers are removed
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    fleet = Fleet(work)
    noop: dict[int, list[dict]] = {n: [] for n in scales}
    change: dict[int, list[dict]] = {n: [] for n in scales}
    extra: dict[str, list[dict]] = {"no pipelining": [], "forks 5": []}
    try:
        image = prepared_image(fleet)
        everyone = list(range(1, max(scales) + 1))
        for index in everyone:
            fleet.start_host(index, image)
        fleet.wait_ssh(everyone)
        fleet.reapply(everyone)  # every host's container gets the overlay once (outside the timings)
        fleet.reapply(everyone)  # warm-up: AnsiballZ caches, ssh control sockets
        for round_index in range(args.rounds):
            for n in scales if round_index % 2 == 0 else scales[::-1]:
                result = fleet.reapply(everyone[:n])
                if result["changed"]:
                    raise RuntimeError(f"the no-op on {n} hosts changed {result['changed']} of them")
                noop[n].append(result)
            extra["no pipelining"].append(fleet.reapply(everyone, pipelining=False))
            extra["forks 5"].append(fleet.reapply(everyone, forks=5))
            for n in scales:
                fleet.change_one_file()  # a new change for each scale: every host of it must take it
                result = fleet.reapply(everyone[:n])
                if result["changed"] != n:
                    raise RuntimeError(f"the one-file change reached {result['changed']} of {n} hosts")
                change[n].append(result)
            # The hosts beyond each scale missed some changes: bring them all to the current overlay again.
            fleet.reapply(everyone)
            print(f"round {round_index + 1}: no-op " + ", ".join(f"{n}: {noop[n][-1]['wall']:.1f} s" for n in scales)
                  + "; change " + ", ".join(f"{n}: {change[n][-1]['wall']:.1f} s" for n in scales), flush=True)
    finally:
        fleet.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    def med(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    top = max(scales)
    ratio = med(noop[top], "wall") / med(noop[1], "wall")
    cores = os.cpu_count() or 1
    wall_top = med(noop[top], "wall")
    controller = med(noop[top], "cpu")
    measured_hosts = all(r["hosts_cpu"] is not None for r in noop[top])
    hosts = med(noop[top], "hosts_cpu") if measured_hosts else 0.0
    engine = med(noop[top], "engine_cpu")
    shares = {"the controller (ansible-playbook, forks, ssh)": controller,
              "the hosts' own work (sshd, Python starting the module, the Docker SDK)": hosts,
              "the Docker engine (archive reads for every host)": engine}
    busy = sum(shares.values()) / (wall_top * cores)
    wall_one = med(noop[1], "wall")
    cpu_floor = sum(shares.values()) / cores
    biggest = max(shares, key=shares.get)
    share_text = ", ".join(f"{name} {cpu:.2f} s" for name, cpu in shares.items())
    if busy > 0.7:
        limit = (f"this machine's {cores} cores, which the controller, all {top} hosts and the Docker engine share "
                 f"here: {share_text} of CPU, {busy:.0%} of both cores over the run's {wall_top:.1f} s; the largest "
                 f"part is {biggest}. On a real fleet every Spark runs its own part on its own CPU: the controller's "
                 f"share alone ({controller:.1f} s over {cores} cores, {controller / cores:.1f} s, "
                 f"{controller / cores / wall_one:.1f}x the one-host run) is the bound that stays. The floor here: "
                 f"all that CPU spread perfectly over the {cores} cores takes {cpu_floor:.1f} s, already "
                 f"{cpu_floor / wall_one:.1f}x the one-host run, so on this machine the goal is "
                 f"{'within' if cpu_floor / wall_one <= GOAL else 'out of'} reach whatever Ansible does")
    else:
        limit = (f"waiting, not CPU ({share_text} of CPU, {busy:.0%} of both cores over the run's {wall_top:.1f} s): "
                 f"ssh and the Docker engine's answers, one host after another where they serialise")
    met = ratio <= GOAL
    lines = [
        f"## A fleet of audio hosts: reapplying on 1 to {top} Sparks at once",
        "",
        f"`benchmarks/fleet_reapply.py`, {args.rounds} rounds, {machine()}.",
        "Each audio host is its own container of the bench's bare-host image reached over real SSH (key login,",
        "`become: true`, the audio-host venv made by `prepare_audio_hosts.yml`), managing its own speech container",
        "through the Docker socket, as a Spark does; all of them share this machine's Docker engine and its 2 cores",
        "with the controller. One `ansible-playbook` run per row, hosts in parallel (forks = hosts, pipelining on),",
        "one `speech_patch` task per host (no speech check: it is one decode per GPU and does not grow with the",
        "fleet). Medians. Controller CPU is ansible-playbook, its forks and their ssh clients; host CPU is the",
        "hosts' containers (cgroup accounting: sshd, the module runs, the speech containers).",
        "",
        ("| hosts | no-op wall (s) | no-op controller CPU / host (s) | no-op host CPU / host (s) | "
         "one-file change wall (s) | change controller CPU / host (s) | no-op vs 1 host |"),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *[f"| {n} | {med(noop[n], 'wall'):.2f} | {med(noop[n], 'cpu') / n:.2f} | "
          f"{(med(noop[n], 'hosts_cpu') / n) if measured_hosts else float('nan'):.2f} | "
          f"{med(change[n], 'wall'):.2f} | {med(change[n], 'cpu') / n:.2f} | "
          f"{med(noop[n], 'wall') / med(noop[1], 'wall'):.1f} |" for n in scales],
        "",
        f"{top} hosts, no-op, other settings:",
        "",
        f"| settings | wall (s) | CPU / host (s) | vs forks {top} with pipelining |",
        "| --- | ---: | ---: | ---: |",
        f"| forks {top}, pipelining (above) | {med(noop[top], 'wall'):.2f} | {med(noop[top], 'cpu') / top:.2f} | 1.0 |",
        *[f"| {label} | {med(runs, 'wall'):.2f} | {med(runs, 'cpu') / top:.2f} | "
          f"{med(runs, 'wall') / med(noop[top], 'wall'):.1f} |"
          for label, runs in ((f"forks {top}, no pipelining", extra["no pipelining"]),
                              ("forks 5 (Ansible's default), pipelining", extra["forks 5"]))],
        "",
        f"What limits it: {limit}. Recommended: forks at",
        "least the number of audio hosts (`forks` in ansible.cfg), `pipelining = True` under `[ssh_connection]`",
        "(one ssh round trip per module instead of three), the default linear strategy (each host's tasks stay in",
        "order, hosts in parallel).",
        "",
        f"Goal: {top} hosts no-op at most {GOAL:g}x one host: **{'met' if met else 'NOT met'}** ({ratio:.1f}x).",
    ]
    markdown = "\n".join(lines)
    write_section("fleet", markdown)
    print(markdown)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
