"""Shared fixtures for tests against the real bench containers.

The bench is "Spark 2 in a box" (tests/bench/). Its ports follow
SPARK_BENCH_PORT_OFFSET and its container names SPARK_BENCH_SUFFIX, so
several benches can run side by side. If the bench does not answer, the
session starts it with tests/bench/playbooks/up.yml.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import requests

from ansible_collections.spark_control.audio.plugins.module_utils._wer import word_error_rate

REPO = Path(__file__).resolve().parents[2]
AUDIO = REPO / "files" / "audio"
OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))
SUFFIX = os.environ.get("SPARK_BENCH_SUFFIX", "")
# The tag of the bench images (tests/bench/build_images.py): branches that change an image build their own.
TAG = os.environ.get("SPARK_BENCH_TAG", "latest")
# Test inputs shared with the unit tests (decode_bombs).
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

# The collection's one word error rate (case, punctuation and numbers normalised).
wer = word_error_rate


def wav_info(data: bytes) -> dict:
    """Parse a WAV answer: rate, channels, sample width, duration, RMS (0..1)."""
    with wave.open(io.BytesIO(data)) as wav:
        frames = wav.readframes(wav.getnframes())
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        return {
            "rate": wav.getframerate(), "channels": wav.getnchannels(), "width": wav.getsampwidth(),
            "duration": wav.getnframes() / wav.getframerate(),
            "rms": float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0,
        }


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def _bench_playbook(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "tests/bench/inventory.yml",
                           *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="session")
def bench_urls() -> dict:
    urls = {
        "stt": f"http://127.0.0.1:{8010 + OFFSET}",
        "tts": f"http://127.0.0.1:{8880 + OFFSET}",
        "control": f"http://127.0.0.1:{9999 + OFFSET}",
    }
    if not all(_answers(f"{u}/health") for u in urls.values()):
        done = _bench_playbook("tests/bench/playbooks/up.yml")
        if done.returncode:
            pytest.fail(f"could not start the bench (suffix {SUFFIX!r}, port offset {OFFSET}) with "
                        f"{' '.join(done.args)}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        silent = [u for u in urls.values() if not _answers(f"{u}/health")]
        if silent:
            pytest.fail(f"the bench was started but {', '.join(silent)} does not answer /health")
    return urls


@pytest.fixture(scope="session")
def stt_url(bench_urls) -> str:
    return bench_urls["stt"]


@pytest.fixture(scope="session")
def tts_url(bench_urls) -> str:
    return bench_urls["tts"]


@pytest.fixture(scope="session")
def control_url(bench_urls) -> str:
    return bench_urls["control"]


@pytest.fixture(scope="session")
def speech_fixture():
    """speech_fixture('single_speaker') -> (wav bytes, reference text)."""
    def load(name: str) -> tuple[bytes, str]:
        return (AUDIO / f"{name}.wav").read_bytes(), (AUDIO / f"{name}.txt").read_text().strip()
    return load


@pytest.fixture(scope="session")
def docker_client():
    import docker

    return docker.from_env()


@pytest.fixture
def bench_fault(docker_client):
    """bench_fault('kokoro', {'silence': True}) writes the container's fault file;
    every fault set this way is cleared when the test ends."""
    touched = []

    def put(container: str, faults: dict | None) -> None:
        box = docker_client.containers.get(container + SUFFIX)
        data = json.dumps(faults or {}).encode()
        buf = io.BytesIO()
        # One archive upload to "/" creates the folder too: no exec needed.
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for folder in ("run", "run/spark-bench"):
                entry = tarfile.TarInfo(folder)
                entry.type, entry.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(entry)
            info = tarfile.TarInfo("run/spark-bench/faults.json")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        box.put_archive("/", buf.getvalue())
        if container not in touched:
            touched.append(container)

    yield put
    for container in touched:
        put(container, None)


@pytest.fixture(scope="module")
def overlay_applied(bench_urls, docker_client):
    """The bench's parakeet-asr runs the overlay (via reapply_patches.yml, as in
    production) for one test module; afterwards the container is recreated
    from its image, so the next module meets the stock server again."""
    done = _bench_playbook("playbooks/reapply_patches.yml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    yield bench_urls
    docker_client.containers.get("parakeet-asr" + SUFFIX).remove(force=True)
    done = _bench_playbook("tests/bench/playbooks/up.yml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
