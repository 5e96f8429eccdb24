"""meta/runtime.yml's action groups: options set once with module_defaults reach every member.

One play on the controller (the dev venv's Python has the modules' libraries)
sets a Docker engine that does not exist for group/spark_control.audio.docker
and a lock folder and key for group/spark_control.audio.host_lock: every docker
module must name that engine, both lock modules must lock there, and a
task's own argument must win over the group's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, SUFFIX

BOGUS = "unix:///nonexistent/spark-docker.sock"


def test_group_defaults_reach_every_member(bench_urls, tmp_path):
    locks, own = tmp_path / "locks", tmp_path / "own-locks"
    play = [{
        "hosts": "all", "gather_facts": False,
        "module_defaults": {
            "group/spark_control.audio.docker": {"docker_host": BOGUS},
            "group/spark_control.audio.host_lock": {"lock_dir": str(locks), "lock_key": "from-defaults"},
        },
        "tasks": [
            {"spark_control.audio.container_pip": {"container": f"parakeet-asr{SUFFIX}", "packages": ["six==1.16.0"]},
             "register": "pip", "ignore_errors": True},
            {"spark_control.audio.speech_patch": {"container": f"parakeet-asr{SUFFIX}",
                                                  "src": str(REPO / "files/parakeet_patches"),
                                                  "ready_url": f"{bench_urls['stt']}/health/ready"},
             "register": "patch", "ignore_errors": True},
            # deep_health.yml's remediation reaches the engine this way (spark_audio_docker_host).
            {"spark_control.audio.speech_containers": {"names": [f"parakeet-asr{SUFFIX}"]},
             "register": "start", "ignore_errors": True},
            {"spark_control.audio.audio_health": {"probes": ["liveness"], "control_url": bench_urls["control"],
                                                  "stt_url": bench_urls["stt"], "tts_url": bench_urls["tts"]},
             "register": "health"},
            # The task's own lock_dir wins over the group's.
            {"spark_control.audio.audio_health": {"probes": ["liveness"], "control_url": bench_urls["control"],
                                                  "stt_url": bench_urls["stt"], "tts_url": bench_urls["tts"],
                                                  "lock_dir": str(own)}},
            {"ansible.builtin.copy": {"dest": str(tmp_path / "results.json"),
                                      "content": "{{ {'pip': pip, 'patch': patch, 'start': start, 'health': health} | to_json }}",
                                      "mode": "0644"}},
        ],
    }]
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    done = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    for name in ("pip", "patch", "start"):
        assert results[name]["failed"], results[name]
        assert f"cannot reach the Docker engine at {BOGUS}" in results[name]["msg"], results[name]["msg"]
    assert results["health"]["healthy"] is True
    assert (locks / "from-defaults.lock").exists()
    assert (own / "from-defaults.lock").exists()  # lock_key still from the group
