"""After a Docker engine restart (or a docker stop), deep_health.yml with remediation brings the audio host back.

Restarting the shared Docker engine would disrupt every bench on this machine, so the test stops its own
bench's containers, which leaves them exactly as an engine restart leaves containers without a restart policy:
exited. It also checks that the bench's containers carry the restart policy a Spark's containers run with
(unless-stopped), under which an engine restart brings them back by itself.
"""
from __future__ import annotations

import json
import subprocess

import pytest

from conftest import SUFFIX, _bench_playbook

BENCH = [f"parakeet-asr{SUFFIX}", f"kokoro{SUFFIX}", f"spark-control{SUFFIX}"]
PROBES = 10  # 2 input guards, liveness, catalogue, overlay, 2 STT, diarization, 2 TTS voices


def inspect(name: str) -> dict:
    done = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


@pytest.fixture
def stock_bench_afterwards(bench_urls, docker_client):
    """The remediation reapplies the overlay; the next test module meets the stock server again."""
    yield bench_urls
    docker_client.containers.get(f"parakeet-asr{SUFFIX}").remove(force=True)
    done = _bench_playbook("tests/bench/playbooks/up.yml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_bench_containers_carry_the_restart_policy_of_a_spark(bench_urls):
    for name in BENCH:
        assert inspect(name)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped", name


def test_remediation_starts_stopped_containers_and_reapplies_the_overlay(stock_bench_afterwards, tmp_path):
    subprocess.run(["docker", "stop", *BENCH], check=True, capture_output=True, timeout=120)
    assert all(inspect(name)["State"]["Status"] == "exited" for name in BENCH)

    done = _bench_playbook("playbooks/deep_health.yml", "-e", "deep_health_remediate=true",
                           "-e", f"deep_health_report_dir={tmp_path}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    host = json.loads((tmp_path / "deep_health.json").read_text())["hosts"]["spark2"]
    assert host["healthy"] and host["remediated"], host.get("summary")
    assert sorted(host["started_containers"]) == sorted(BENCH)
    assert host["first_failures"]["liveness"] == "service_down"
    assert host["reapplied_overlay"]  # the stock container had no overlay
    assert len(host["probes"]) == PROBES and all(p["ok"] for p in host["probes"])
    assert all(inspect(name)["State"]["Running"] for name in BENCH)
