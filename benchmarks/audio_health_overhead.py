"""audio_health overhead: the module's time against the raw latencies of its requests.

Same run, same bench, same requests: each round runs the module's probes
in-process (input guard, VAD, WER, retries logic and all) and replays the exact
requests it made with plain ``requests`` calls, one at a time, summing their
latencies. Rounds alternate which goes first so server warm-up and load drift
hit both sides alike. Goal: the module adds at most 5 %.

Run against a bench with the overlay applied (SPARK_BENCH_PORT_OFFSET picks it):
    python benchmarks/audio_health_overhead.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
# Run from a checkout, the collection is importable through the Makefile's link.
if importlib.util.find_spec("ansible_collections") is None:
    sys.path.insert(0, str(ROOT / ".cache" / "collections"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import machine, write_section  # noqa: E402

from ansible_collections.spark_control.audio.plugins.module_utils import _http  # noqa: E402
from ansible_collections.spark_control.audio.plugins.module_utils._health.runner import run  # noqa: E402
from ansible_collections.spark_control.audio.plugins.modules.audio_health import (  # noqa: E402
    ARGUMENT_SPEC, settings_from)

OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))
AUDIO = ROOT / "files" / "audio"
OVERLAY = ROOT / "files" / "parakeet_patches"
# The input guard's verdict file, new for every benchmark run: the warm-up run fills it, as the first of a
# series of scheduled runs does.
VERDICTS = Path(tempfile.mkdtemp(prefix="audio-health-bench-")) / "verdicts.json"


HITS: list[tuple[int, int]] = []      # (verdicts from the file, verdicts computed) per module run


class RecordingClient(_http.HttpClient):
    """The module's client, remembering each request so it can be replayed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = []

    def _send(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        return super()._send(method, url, **kwargs)


def params() -> dict:
    import hashlib

    values = {k: spec.get("default") for k, spec in ARGUMENT_SPEC.items()}
    values.update(
        control_url=f"http://127.0.0.1:{9999 + OFFSET}", stt_url=f"http://127.0.0.1:{8010 + OFFSET}",
        tts_url=f"http://127.0.0.1:{8880 + OFFSET}", voices=["af_heart", "am_adam"],
        audio_files=[{"path": str(AUDIO / f"{n}.wav"), "reference": (AUDIO / f"{n}.txt").read_text().strip(),
                      "name": None} for n in ("single_speaker", "two_speakers")],
        diarization_file={"path": str(AUDIO / "two_speakers.wav"), "speakers": 2, "name": None},
        expected_overlay={p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                          for p in sorted(OVERLAY.iterdir()) if p.is_file() and not p.name.startswith(".")},
        verdict_cache=str(VERDICTS), _audio={})
    return values


def module_round() -> tuple[float, float, list]:
    """Seconds for the whole module run, seconds its requests spent on the wire, requests sent."""
    _http_client_cls = _http.HttpClient
    import ansible_collections.spark_control.audio.plugins.modules.audio_health as module

    module.HttpClient = RecordingClient
    try:
        start = time.perf_counter()
        settings, probes, _unused = settings_from(params())
        result = run(settings, probes)
        settings.verdicts.save()             # as the module's main() does
        total = time.perf_counter() - start
    finally:
        module.HttpClient = _http_client_cls
    if not result["healthy"]:
        sys.exit(f"the bench is not healthy, fix it first: {result['summary']}")
    wire = sum(entry["seconds"] for entry in settings.client.log)
    settings.client.close()
    HITS.append((settings.verdicts.hits, settings.verdicts.misses))
    return total, wire, settings.client.sent


def raw_round(sent: list) -> float:
    """The same requests with plain requests calls; the sum of their latencies."""
    total = 0.0
    for method, url, kwargs in sent:
        start = time.perf_counter()
        reply = requests.request(method, url, timeout=300, **kwargs)
        total += time.perf_counter() - start
        if reply.status_code != 200:
            sys.exit(f"raw replay: {method} {url} answered {reply.status_code}: {reply.text[:200]}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _unused, _unused, previous = module_round()  # warm-up: model caches, VAD model load, imports
    rows = []
    for index in range(args.rounds):
        if index % 2 == 0:
            total, wire, sent = module_round()
            raw = raw_round(sent)
        else:  # replay first (the previous run's identical requests), then the module
            raw = raw_round(previous)
            total, wire, sent = module_round()
        previous = sent
        rows.append((total, wire, raw, len(sent)))
        print(f"round {index + 1}: module {total:.2f} s (its requests {wire:.2f} s), "
              f"raw replay {raw:.2f} s, {len(sent)} requests", flush=True)
    module_total = sum(r[0] for r in rows)
    wire_total = sum(r[1] for r in rows)
    raw_total = sum(r[2] for r in rows)
    ratio = module_total / raw_total
    self_overhead = (module_total - wire_total) / wire_total
    per_round_self = statistics.median((r[0] - r[1]) for r in rows)
    verdict = "meets" if ratio <= 1.05 else "misses"
    lines = [
        "## audio_health: module time vs the raw request latencies",
        "",
        f"`benchmarks/audio_health_overhead.py`, {args.rounds} rounds, {machine()}.",
        "Each round: one in-process run of every probe (2 STT fixtures, diarization, TTS round trip for 2 voices,",
        "liveness, catalogue, overlay; input guard, VAD, WER included) against the bench, and a replay of the",
        "exact same requests with plain `requests` calls, one at a time (alternating which goes first).",
        "",
        "| | seconds |",
        "| --- | --- |",
        f"| module, total over all rounds | {module_total:.2f} |",
        f"| raw replay of the same requests (naive way) | {raw_total:.2f} |",
        f"| the module's own requests on the wire | {wire_total:.2f} |",
        f"| module work outside requests, median per round | {per_round_self:.3f} |",
        "",
        f"Module / raw replay: **{ratio:.3f}** ({(ratio - 1) * 100:+.1f} %), which {verdict} the 5 % goal.",
        f"Time the module spends outside its requests: {self_overhead * 100:.1f} % of their wire time.",
        f"Requests per round: {rows[0][3]}. Server decode times on the CPU bench vary from run to run; the",
        "second figure does not depend on them.",
        "The input guard's verdicts (`verdict_cache`) come from a file new to this benchmark run, filled by its",
        f"warm-up run (which judged {HITS[0][1]} audio files with the voice activity detector), as a series of",
        "scheduled runs meets it: in the measured rounds, " + ", ".join(f"{h} from the file and {m} computed"
                                                                       for h, m in sorted(set(HITS[1:]))) + ".",
    ]
    write_section("audio_health", "\n".join(lines))
    print("\n".join(lines))
    # Like the other benchmarks: a missed goal fails `make bench`.
    if ratio > 1.05:
        sys.exit(1)


if __name__ == "__main__":
    main()
