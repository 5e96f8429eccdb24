"""Run the parakeet overlay for real: a container from the bench's parakeet-asr
image with files/parakeet_patches/ copied into /app, the way the collection
applies it. Shared by tests/integration/test_overlay_*.py and
benchmarks/overlay_throughput.py.

Names and ports follow SPARK_BENCH_SUFFIX / SPARK_BENCH_PORT_OFFSET and stay
clear of the bench's own parakeet-asr (port 8010 + offset): the overlay under
test listens on 8020 + offset (8030 + offset for a second one).
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import requests
from docker.errors import NotFound

REPO = Path(__file__).resolve().parents[2]
PATCHES = REPO / "files" / "parakeet_patches"
AUDIO = REPO / "files" / "audio"
IMAGE = f"spark-bench/parakeet-asr:{os.environ.get('SPARK_BENCH_TAG', 'latest')}"
SUFFIX = os.environ.get("SPARK_BENCH_SUFFIX", "")
OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))


def _tar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def overlay_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(PATCHES.iterdir())
            if p.is_file() and not p.name.endswith(".pyc")}


@dataclass
class Overlay:
    container: object
    url: str

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.url + path, timeout=kw.pop("timeout", 10), **kw)

    def transcribe(self, data: bytes, filename: str = "speech.wav", timeout: float = 180, **form) -> requests.Response:
        files = {"file": (filename, data, "application/octet-stream")}
        return requests.post(self.url + "/v1/audio/transcriptions", files=files, data=form, timeout=timeout)

    def write_faults(self, faults: dict | None) -> None:
        """The bench fault file the bench's engine reads on every request."""
        self.container.put_archive("/run", _tar({"spark-bench/faults.json": json.dumps(faults or {}).encode()}))

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")

    def exec(self, argv: list[str]) -> bytes:
        code, out = self.container.exec_run(argv)
        if code:
            raise RuntimeError(f"{argv} failed ({code}): {out[-500:]!r}")
        return out


def remove(name: str) -> None:
    try:
        docker.from_env().containers.get(name).remove(force=True)
    except NotFound:
        pass


def start(name: str, port: int, env: dict | None = None, extra: dict[str, bytes] | None = None,
          mem_limit: str | None = None) -> Overlay:
    """Create the container (memory capped at ``mem_limit``, e.g. "1g"), copy
    the overlay (+ ``extra`` files, paths relative to /) into it, start it.
    Does not wait for readiness."""
    client = docker.from_env()
    remove(name)
    # ASR_ENGINE comes from the image: the bench's engine (the cpu engine plus
    # the fault switches and the hazard emulation), /opt/spark-bench/spark_bench_engine.py.
    environment = {"ASR_HOST": "127.0.0.1", "ASR_PORT": str(port),
                   "STT_MODEL_ID": "parakeet-tdt-0.6b-v2"} | (env or {})
    limits = {"mem_limit": mem_limit, "memswap_limit": mem_limit} if mem_limit else {}
    box = client.containers.create(IMAGE, name=name, network_mode="host", environment=environment,
                                   labels={"spark-bench.role": "overlay-test"}, **limits)
    box.put_archive("/app", _tar(overlay_files()))
    if extra:
        box.put_archive("/", _tar({k.lstrip("/"): v for k, v in extra.items()}))
    box.start()
    return Overlay(box, f"http://127.0.0.1:{port}")


def wait(overlay: Overlay, path: str = "/health/ready", timeout: float = 180) -> requests.Response:
    """Poll until ``path`` answers 200 (returns it) or the time is up (returns the last answer)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            last = overlay.get(path, timeout=5)
            if last.status_code == 200:
                return last
        except requests.RequestException:
            pass
        overlay.container.reload()
        if overlay.container.status == "exited":
            raise RuntimeError(f"overlay container exited:\n{overlay.logs()[-3000:]}")
        time.sleep(0.5)
    if last is None:
        raise RuntimeError(f"overlay never answered {path}:\n{overlay.logs()[-3000:]}")
    return last


# ---- one overlay container shared by the test modules ------------------------
TEST_NAME = f"parakeet-asr-overlay{SUFFIX}"
TEST_PORT = 8020 + OFFSET
# A small queue makes the concurrency test meet real 503s; small limits keep
# the over-size / over-long inputs cheap to build.
TEST_ENV = {"ASR_QUEUE_DEPTH": "2", "ASR_MAX_UPLOAD_MB": "2", "ASR_MAX_AUDIO_SECONDS": "60"}
_shared: dict[str, Overlay] = {}


def shared_overlay(config) -> Overlay:
    """Start the test overlay once per pytest session; removed when the session ends."""
    if "overlay" not in _shared:
        overlay = start(TEST_NAME, TEST_PORT, TEST_ENV)
        config.add_cleanup(lambda: remove(TEST_NAME))
        ready = wait(overlay)
        if ready.status_code != 200:
            raise RuntimeError(f"overlay not ready: {ready.text}\n{overlay.logs()[-3000:]}")
        _shared["overlay"] = overlay
    return _shared["overlay"]


def speech(name: str) -> tuple[bytes, str]:
    return (AUDIO / f"{name}.wav").read_bytes(), (AUDIO / f"{name}.txt").read_text().strip()
