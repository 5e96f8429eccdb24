"""Overlay server throughput: 1 client vs 4 and 8 concurrent clients.

Runs the parakeet overlay (cpu engine) in a container from the bench's
parakeet-asr image, sends the same real-speech fixture from 1, 4 and 8
clients (same number of requests each time) and compares throughput with the
sequential run (the naive way). A 503 is the queue saying "full": the client
waits Retry-After and retries, and it is counted; any other 5xx is a failure.
Also measures the decode queue's own overhead per request, in-process (a
no-op job through DecodeWorker vs a direct call) and in the server (queue
wait reported in Server-Timing by the sequential run).

Writes the "overlay-throughput" section of BENCHMARKS.md. Usage:
    .venv/bin/python benchmarks/overlay_throughput.py [--requests 16]
"""
from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests" / "integration"), str(REPO / "files" / "parakeet_patches")]

import overlay_support as support  # noqa: E402
from _report import machine, write_section  # noqa: E402
from asr_worker import DecodeWorker  # noqa: E402

NAME = f"parakeet-asr-overlay-bench{support.SUFFIX}"
PORT = 8040 + support.OFFSET
GOAL = 0.95


def run_clients(overlay: support.Overlay, audio: bytes, clients: int, total: int) -> dict:
    """``total`` requests spread over ``clients`` threads started together."""
    per_client = total // clients
    statuses: list[int] = []
    retries, queue_waits, decodes = [0], [], []
    lock, barrier = threading.Lock(), threading.Barrier(clients)

    def client() -> None:
        barrier.wait()
        for _unused in range(per_client):
            for _attempt in range(60):
                reply = overlay.transcribe(audio, timeout=300)
                with lock:
                    statuses.append(reply.status_code)
                if reply.status_code != 503:
                    timing = dict(re.findall(r"(\w+);dur=([\d.]+)", reply.headers.get("Server-Timing", "")))
                    with lock:
                        queue_waits.append(float(timing.get("queue", "nan")))
                        decodes.append(float(timing.get("decode", "nan")) / 1000)
                    break
                with lock:
                    retries[0] += 1
                time.sleep(int(reply.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=client) for _unused in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ok = statuses.count(200)
    return {"clients": clients, "requests": per_client * clients, "ok": ok, "elapsed": elapsed,
            "throughput": ok / elapsed, "busy_503": retries[0],
            "other_5xx": sum(1 for s in statuses if s >= 500 and s != 503),
            "other": sum(1 for s in statuses if s not in (200, 503)),
            "queue_wait_ms": statistics.median(queue_waits) if queue_waits else float("nan"),
            "decode_s": sum(decodes)}


def _sum(parts: list[dict]) -> dict:
    out = dict(parts[0])
    for key in ("requests", "ok", "elapsed", "busy_503", "other_5xx", "other", "decode_s"):
        out[key] = sum(p[key] for p in parts)
    out["throughput"] = out["ok"] / out["elapsed"]
    out["queue_wait_ms"] = statistics.median(p["queue_wait_ms"] for p in parts)
    return out


def _handling_ms(logs: str) -> float:
    """Median per-request time outside the queue and the decode (upload, validation,
    formatting), from the server's request log lines."""
    import json

    spans = []
    for line in logs.splitlines():
        if line.startswith('{"event":"transcription"'):
            rec = json.loads(line)
            if rec["status"] == 200:
                spans.append(rec["total_ms"] - rec["queue_wait_ms"] - rec["decode_ms"])
    return statistics.median(spans) if spans else float("nan")


def queue_overhead_us(jobs: int = 2000) -> tuple[float, float]:
    """Per-job cost of a no-op through the queue (awaited like a request) vs calling it directly."""
    worker = DecodeWorker(depth=jobs, queue_timeout=60, decode_timeout=60)

    def no_op() -> None:
        return None

    async def through_queue() -> None:
        for _unused in range(jobs):
            await worker.run(no_op)

    started = time.perf_counter()
    asyncio.run(through_queue())
    queued = (time.perf_counter() - started) / jobs
    started = time.perf_counter()
    for _unused in range(jobs):
        no_op()
    direct = (time.perf_counter() - started) / jobs
    worker.stop()
    return queued * 1e6, direct * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="requests per configuration and round (multiple of 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each runs 1, 4 and 8 clients in turn")
    args = parser.parse_args()
    total = max(8, args.requests - args.requests % 8)
    audio, _unused = support.speech("single_speaker")
    # A long queue timeout: on a loaded machine 8 queued decodes can outlast the
    # default 60 s, and this measures throughput, not the timeout policy.
    # The overlay's own cpu engine, not the bench image's default (the same engine plus test hooks).
    overlay = support.start(NAME, PORT, {"ASR_ENGINE": "cpu", "ASR_QUEUE_DEPTH": "8", "ASR_QUEUE_TIMEOUT": "600"})
    try:
        ready = support.wait(overlay)
        if ready.status_code != 200:
            print(f"overlay not ready: {ready.text}", file=sys.stderr)
            return 1
        overlay.transcribe(audio)                       # first request outside the timings
        # Interleaved rounds, so a burst of load from elsewhere on the machine
        # hits every configuration alike instead of skewing one of them.
        rounds = [[run_clients(overlay, audio, n, total) for n in (1, 4, 8)] for _unused in range(args.rounds)]
        runs = [_sum([r[i] for r in rounds]) for i in range(3)]
        handling = _handling_ms(overlay.logs())
    finally:
        support.remove(NAME)
    queued_us, direct_us = queue_overhead_us()

    base = runs[0]["throughput"]
    for r in runs:
        # Share of the wall time the decode worker spent decoding. Decode speed
        # swings with load from elsewhere on the machine; this ratio does not.
        r["busy"] = r["decode_s"] / r["elapsed"]
    rows = ["| clients | requests | 200 | 503 (retried) | other 5xx | time (s) | throughput (req/s) | raw vs 1 client "
            "| worker busy | load-corrected vs 1 client |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        rows.append(f"| {r['clients']} | {r['requests']} | {r['ok']} | {r['busy_503']} | {r['other_5xx']} | "
                    f"{r['elapsed']:.1f} | {r['throughput']:.3f} | {r['throughput'] / base:.2f} | "
                    f"{r['busy']:.3f} | {r['busy'] / runs[0]['busy']:.2f} |")
    worst = min(r["busy"] / runs[0]["busy"] for r in runs[1:])
    failures = sum(r["other_5xx"] + r["other"] for r in runs)
    verdict = "met" if worst >= GOAL and failures == 0 else "NOT met"
    markdown = "\n".join([
        "## Overlay server throughput",
        "",
        "`benchmarks/overlay_throughput.py`: the parakeet overlay (cpu engine: faster-whisper tiny.en, one decode",
        "worker, queue depth 8, queue timeout 600 s) in the bench's parakeet-asr image; every request is `files/audio/single_speaker.wav`",
        f"(7.4 s of real speech). Same number of requests per row, in {args.rounds} interleaved rounds; the naive",
        "way is one client at a time. The machine is shared with other work, so absolute rates vary between runs.",
        f"{machine()}.",
        "",
        *rows,
        "",
        "Throughput is requests answered per second of wall time. Decode time per request depends on what else",
        "the shared 2-core machine is doing at that moment, so the raw ratio mixes the server's behaviour with",
        "that noise. *Worker busy* is the summed decode time (Server-Timing) over the wall time: the share of",
        "the run in which the single decode worker was doing useful work. Its ratio to the 1-client run is",
        "the throughput ratio at equal decode speed, and is what the goal is judged on.",
        "",
        f"Goal: concurrent throughput >= {GOAL} x sequential with no 5xx other than deliberate 503s: **{verdict}** "
        f"(worst load-corrected ratio {worst:.2f}, {failures} unexpected answers).",
        "",
        f"Queue overhead per request: {queued_us - direct_us:.0f} us in-process (a no-op job awaited through "
        f"DecodeWorker: {queued_us:.0f} us, direct call: {direct_us:.2f} us); in the server, the sequential run's "
        f"median queue wait (Server-Timing) was {runs[0]['queue_wait_ms']:.2f} ms. The corrected ratio cannot see a",
        "decode slowed by the handling of waiting requests; that handling (upload, validation, formatting) took",
        f"a median {handling:.1f} ms per request, against seconds of decode.",
    ])
    write_section("overlay-throughput", markdown)
    print(markdown)
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
