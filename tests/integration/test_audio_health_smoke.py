"""audio_smoke.yml for real against the bench (overlay applied, as after
reapply_patches.yml in production): a user's recording passes with a
readable summary; a tone or silence is refused with a clear message before any
audio is sent."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


def smoke(*extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", "tests/bench/inventory.yml", "playbooks/audio_smoke.yml", *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def test_own_recording_passes_with_a_summary(overlay_applied, tmp_path):
    recording = tmp_path / "standup.wav"
    shutil.copy(REPO / "files/audio/single_speaker.wav", recording)
    reference = (REPO / "files/audio/single_speaker.txt").read_text().strip()
    # JSON extra vars: key=value would split the sentence at its spaces.
    done = smoke("-e", json.dumps({"audio_file": str(recording), "audio_text": reference}))
    assert done.returncode == 0, done.stdout[-4000:]
    assert "spark2: HEALTHY" in done.stdout
    assert "ok   stt:standup" in done.stdout and "ok   diarization" in done.stdout


@pytest.mark.parametrize("kind, samples, words", [
    ("tone", 0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000), "it is a tone"),
    ("silence", np.zeros(48000), "it is silence"),
])
def test_non_speech_is_refused_before_sending(bench_urls, tmp_path, kind, samples, words):
    path = write_wav(tmp_path / f"{kind}.wav", samples)
    done = smoke("-e", f"audio_file={path}")
    assert done.returncode != 0
    # The summary is printed by the YAML callback, which wraps long lines.
    flat = " ".join(done.stdout.split())
    assert f"refusing {path}: {words}" in flat, done.stdout[-4000:]
    assert "skip the decoder paths" in flat
    assert "Traceback" not in done.stdout + done.stderr


def test_a_second_run_takes_the_guard_verdicts_from_its_file(overlay_applied, tmp_path):
    """verdict_cache on the real bench: the first run judges the test file and the TTS answer with the
    voice activity detector, the second finds the test file's verdict in the file; both are healthy."""
    cache, out = tmp_path / "verdicts.json", tmp_path / "result-{{ run }}.json"
    task = {
        "spark_control.audio.audio_health": {
            "control_url": overlay_applied["control"], "probes": ["stt", "tts"], "verdict_cache": str(cache),
            "lock_dir": str(tmp_path / "locks"),
            "audio_files": [{"path": str(REPO / "files/audio/single_speaker.wav"),
                             "reference": (REPO / "files/audio/single_speaker.txt").read_text().strip()}]},
        "register": "health"}
    keep = {"ansible.builtin.copy": {"content": "{{ health | to_json }}", "dest": str(out)},
            "delegate_to": "localhost"}
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "spark2", "gather_facts": False, "tasks": [task, keep]}]))
    results = []
    for run in ("first", "second"):
        done = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "tests/bench/inventory.yml", str(play), "-e", f"run={run}"],
                              cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
                              capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode == 0, done.stdout[-4000:]
        results.append(json.loads((tmp_path / f"result-{run}.json").read_text()))
    first, second = (r["verdict_cache"] for r in results)
    assert all(r["healthy"] for r in results)
    assert first["misses"] >= 2 and first["hits"] == 0 and first["error"] is None, first
    assert second["hits"] >= 1 and second["misses"] <= 1 and second["error"] is None, second
    assert cache.exists() and oct(cache.stat().st_mode & 0o777) == "0o600"
