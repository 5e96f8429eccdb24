"""The overlay's own cost per request, against the bare framework's floor.

On the GPU Parakeet decodes a 10 s clip in tens of ms, so what the overlay
adds around the model (upload, validation, decoding to 16 kHz mono, the
decode queue, formatting, the request log) must be close to nothing. The
overlay app (main.create_app) runs with a null engine that answers at once;
beside it, in the same run, a bare FastAPI endpoint under the same uvicorn
settings reads the same multipart upload and answers a fixed JSON: the floor.
Both are real servers on loopback in their own processes; real speech (the
fixtures of files/audio, concatenated and resampled) goes over real HTTP,
one client at a time and four at once, in interleaved rounds.

Also measured in the same run: the decode queue's handoff (a no-op job
through DecodeWorker.run vs a direct call and vs asyncio.to_thread), the
audio decoding and resampling in-process, and (when py-spy is installed) a
profile of the overlay server under the same requests.

Writes the "overlay-request-cost" section of BENCHMARKS.md and exits 1 when
a goal is missed. Usage:
    .venv/bin/python benchmarks/overlay_request_cost.py [--requests 100] [--no-profile]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import http.client
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from queue import SimpleQueue
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(REPO / "files" / "parakeet_patches")]

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import resample_poly  # noqa: E402
from urllib3.filepost import encode_multipart_formdata  # noqa: E402

import asr_audio  # noqa: E402
from _order import turned  # noqa: E402
from _report import machine, write_section  # noqa: E402
from asr_worker import DecodeWorker  # noqa: E402

OFFSET = int(os.environ.get("SPARK_BENCH_PORT_OFFSET", "0"))
OVERLAY_PORT, FLOOR_PORT = 8060 + OFFSET, 8061 + OFFSET
SERVERS = HERE / "_request_cost_servers.py"
AUDIO = REPO / "files" / "audio"
PATH = "/v1/audio/transcriptions"

# Goals (issue 14).
RATIO_GOAL, ABOVE_GOAL_MS = 1.5, 5.0       # 10 s 16 kHz clip: overlay vs floor, median
RESAMPLE_GOAL_MS = 10.0                    # 10 s 44.1 kHz stereo over 10 s 16 kHz mono
SCALE_GOAL = 6.0                           # 60 s clip's time above the floor vs the 10 s clip's
QUEUE_GOAL_US = 100.0

FORMATS = {
    "json": [("response_format", "json")],
    "verbose_json + words": [("response_format", "verbose_json"), ("timestamp_granularities[]", "word")],
    "diarized verbose_json + words": [("response_format", "verbose_json"), ("timestamp_granularities[]", "word"),
                                      ("diarize", "true")],
}


# ---- real speech -----------------------------------------------------------------
def _wav(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def clips() -> dict[str, bytes]:
    """10 s and 60 s of the real speech fixtures back to back (16 kHz mono, as
    recorded), and the 10 s one as a 44.1 kHz stereo recording would bring it."""
    speech = np.concatenate([sf.read(AUDIO / f"{n}.wav", dtype="float32")[0]
                             for n in ("single_speaker", "two_speakers")])
    long = np.tile(speech, int(np.ceil(60 * 16000 / len(speech))))
    ten, sixty = speech[:10 * 16000], long[:60 * 16000]
    wide = resample_poly(ten, 441, 160).astype(np.float32)
    # A second microphone: the same voice 0.5 ms later and a little quieter.
    stereo = np.stack([wide, 0.9 * np.concatenate([np.zeros(22, np.float32), wide[:-22]])], axis=1)
    return {"10 s, 16 kHz mono": _wav(ten, 16000), "10 s, 44.1 kHz stereo": _wav(stereo, 44100),
            "60 s, 16 kHz mono": _wav(sixty, 16000)}


def multipart(audio: bytes, fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    return encode_multipart_formdata([("file", ("speech.wav", audio, "audio/wav")), ("model", "whisper-1"), *fields])


# ---- servers ---------------------------------------------------------------------
class Server:
    def __init__(self, kind: str, port: int, folder: Path) -> None:
        self.kind, self.port = kind, port
        self.log = folder / f"{kind}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, str(SERVERS), kind, str(port)], stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {kind} server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health/ready")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the {kind} server on port {port} was not ready within 60 s:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])

    def cpu_seconds(self) -> float:
        """CPU time of all the server's threads so far (schedstat: nanoseconds)."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass                            # a thread that just ended
        return total / 1e9

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Connections:
    """One keep-alive connection per (port, client), reused across rounds."""

    def __init__(self) -> None:
        self._conns: dict[tuple[int, int], http.client.HTTPConnection] = {}

    def post(self, port: int, client: int, path: str, body: bytes, ctype: str) -> tuple[int, bytes]:
        key = (port, client)
        # uvicorn closes a keep-alive connection idle for 5 s: a reused one
        # that fails is opened again once, as HTTP clients do.
        for reused in (key in self._conns, False):
            if key not in self._conns:
                self._conns[key] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn = self._conns[key]
            try:
                conn.request("POST", path, body, {"Content-Type": ctype})
                reply = conn.getresponse()
                return reply.status, reply.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                del self._conns[key]
                if not reused:
                    raise
        raise AssertionError("unreachable")


# ---- the measured rows -------------------------------------------------------------
class Row:
    def __init__(self, server: Server, path: str, clip: str, fmt: str, body: bytes, ctype: str) -> None:
        self.server, self.path, self.clip, self.fmt = server, path, clip, fmt
        self.body, self.ctype = body, ctype
        self.latencies: dict[int, list[float]] = collections.defaultdict(list)
        self.wall: dict[int, float] = collections.defaultdict(float)
        self.cpu: dict[int, float] = collections.defaultdict(float)
        self.failures: list[str] = []

    @property
    def label(self) -> str:
        if self.server.kind == "overlay":
            return f"overlay, {self.fmt}"
        return "floor: raw body" if self.path == "/raw" else "floor: multipart"

    def send(self, conns: Connections, pool: ThreadPoolExecutor, clients: int) -> None:
        """One request (1 client), or one from each of ``clients`` at once."""
        def one(index: int) -> tuple[int, bytes, float]:
            started = time.perf_counter()
            try:
                status, reply = conns.post(self.server.port, index, self.path, self.body, self.ctype)
            except (OSError, http.client.HTTPException) as exc:
                status, reply = 0, repr(exc).encode()
            return status, reply, time.perf_counter() - started

        cpu, started = self.server.cpu_seconds(), time.perf_counter()
        results = [one(0)] if clients == 1 else list(pool.map(one, range(clients)))
        self.wall[clients] += time.perf_counter() - started
        self.cpu[clients] += self.server.cpu_seconds() - cpu
        for status, reply, took in results:
            if status == 200:
                self.latencies[clients].append(took)
            else:
                self.failures.append(f"{status}: {reply[:200]!r}")

    def median_ms(self, clients: int) -> float:
        return statistics.median(self.latencies[clients]) * 1000 if self.latencies[clients] else float("nan")

    def per_request_ms(self, clients: int) -> float:
        """Wall time per answered request (the inverse of throughput)."""
        n = len(self.latencies[clients])
        return self.wall[clients] / n * 1000 if n else float("nan")

    def cpu_ms(self, clients: int) -> float:
        n = len(self.latencies[clients])
        return self.cpu[clients] / n * 1000 if n else float("nan")


def check_answer(row: Row, conns: Connections) -> None:
    """The overlay must give a full answer, or the timings mean nothing."""
    status, reply = conns.post(row.server.port, 0, row.path, row.body, row.ctype)
    if status != 200:
        raise RuntimeError(f"{row.label} ({row.clip}) answered {status}: {reply[:300]!r}")
    if row.server.kind != "overlay":
        return
    body = json.loads(reply)
    problems = []
    if not body.get("text"):
        problems.append("no text")
    if "words" in row.fmt and not body.get("words"):
        problems.append("no words")
    if "diarized" in row.fmt and not (body.get("speakers", 0) >= 2 and all(s.get("speaker") for s in body["segments"])):
        problems.append("no speaker-labelled segments")
    if problems:
        raise RuntimeError(f"{row.label} ({row.clip}): {', '.join(problems)} in {reply[:300]!r}")


def alternating(rows: list[Row], turn: int = 0) -> list[Row]:
    """One cycle of requests: per clip, each overlay row after a floor row of
    the same clip (the multipart floor twice, the raw one once), so every
    request follows one to the other server and both wake from the same idle
    wait. ``turn`` rotates which row of a clip goes first: the first after
    the previous clip pays for what that clip left behind (freed buffers,
    caches: a 10 s request after a 60 s one took 0.4 ms more here), so every
    row takes that place in turn."""
    order = []
    for clip in dict.fromkeys(r.clip for r in rows):
        ours = [r for r in rows if r.clip == clip and r.server.kind == "overlay"]
        multipart_floor = next(r for r in rows if r.clip == clip and r.label == "floor: multipart")
        raw_floor = next(r for r in rows if r.clip == clip and r.label == "floor: raw body")
        floors = turned([multipart_floor, raw_floor, multipart_floor], turn)
        for i, row in enumerate(turned(ours, turn)):
            order += [floors[i % len(floors)], row]
    return order


def measure(rows: list[Row], conns: Connections, requests: int, rounds: int, deadline: float) -> int:
    """Rounds of cycles (``alternating``, each cycle turned by one), one
    request at a time or a burst of 4 for 4 clients, so a burst of load from
    elsewhere on the machine hits every row alike. Returns the rounds done
    before the time cap."""
    cycles = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for done in range(rounds):
            if time.monotonic() > deadline:
                return done
            for clients in (1, 4):
                for _unused in range(max(1, requests // rounds // clients)):
                    for row in alternating(rows, cycles):
                        row.send(conns, pool, clients)
                    cycles += 1
    return rounds


# ---- in-process pieces ---------------------------------------------------------------
def queue_overhead(jobs: int = 2000) -> tuple[dict[str, dict[str, float]], float]:
    """Median per-job time (us) of a no-op awaited through DecodeWorker.run, the bare round trip and (unpinned)
    asyncio.to_thread, the ways taking turns job by job, per placement; and of a direct call.

    Where the scheduler puts the worker thread decides most of it (a wake-up on the event loop's own core
    is much cheaper than one on the other core), and a thread tends to keep its core for a whole run, so
    unpinned runs of the same code differ widely. Each placement is therefore also measured pinned
    (sched_setaffinity): the loop on the first core, the threads on it or on the next."""
    worker = DecodeWorker(depth=64, queue_timeout=60, decode_timeout=60)
    bare = _BareRoundTrip()

    def no_op() -> None:
        return None

    async def taking_turns(ways: dict[str, object], pin: int | None) -> dict[str, float]:
        if pin is not None:
            os.sched_setaffinity(0, {cpus[0]})                  # this thread runs the event loop
            worker.run_sync(lambda: os.sched_setaffinity(0, {pin}))
            os.sched_setaffinity(bare.thread.native_id, {pin})
        times: dict[str, list[float]] = collections.defaultdict(list)
        for _unused in range(jobs):
            for name, call in ways.items():
                started = time.perf_counter()
                await call()
                times[name].append(time.perf_counter() - started)
        return {name: statistics.median(v) * 1e6 for name, v in times.items()}

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    ways = {"DecodeWorker.run": lambda: worker.run(no_op), "bare round trip": bare.run}
    placements: dict[str, dict[str, float]] = {}
    try:
        placements["unpinned"] = asyncio.run(taking_turns({**ways, "asyncio.to_thread": lambda: asyncio.to_thread(no_op)},
                                                         None))
        if len(cpus) >= 2:
            placements["same core"] = asyncio.run(taking_turns(ways, cpus[0]))
            placements["other core"] = asyncio.run(taking_turns(ways, cpus[1]))
    finally:
        if cpus:
            os.sched_setaffinity(0, set(cpus))
        worker.stop()
        bare.stop()
    direct = []
    for _unused in range(jobs):
        started = time.perf_counter()
        no_op()
        direct.append(time.perf_counter() - started)
    return placements, statistics.median(direct) * 1e6


class _BareRoundTrip:
    """The least any handoff from the event loop to a waiting thread and back
    can cost: a SimpleQueue to a plain thread that wakes the loop with
    call_soon_threadsafe (no job, no timeout, no queue bound). Its two thread
    wake-ups are the OS's; what DecodeWorker.run takes beyond it is its own."""

    def __init__(self) -> None:
        self.items: SimpleQueue = SimpleQueue()
        self.thread = threading.Thread(target=self._echo, daemon=True)
        self.thread.start()

    def _echo(self) -> None:
        while (item := self.items.get()) is not None:
            loop, waiter = item
            loop.call_soon_threadsafe(waiter.set_result, None)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self.items.put((loop, waiter))
        await waiter

    def stop(self) -> None:
        self.items.put(None)
        self.thread.join()


def _median_ms(ways: dict[str, object], rounds: int = 15, repeat: int = 3) -> dict[str, float]:
    """Median ms per call of each way, the ways taking turns round by round."""
    times: dict[str, list[float]] = collections.defaultdict(list)
    for fn in ways.values():
        fn()                                    # warm: imports, caches, the filter design
    for _unused in range(rounds):
        for name, fn in ways.items():
            for _again in range(repeat):
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(v) * 1000 for name, v in times.items()}


def decode_costs(audio: dict[str, bytes]) -> dict[str, float]:
    return _median_ms({name: (lambda d=data: asr_audio.decode(d, 1440)) for name, data in audio.items()})


def resample_methods(stereo: bytes) -> list[tuple[str, float, str]]:
    """10 s of 44.1 kHz mono speech to 16 kHz, each way, with its error
    against scipy's default polyphase filter (the reference)."""
    import soxr
    from scipy.signal import resample

    samples, _rate = sf.read(io.BytesIO(stereo), dtype="float32")
    mono = np.ascontiguousarray(samples[:, 0])
    reference = resample_poly(mono, 160, 441)

    def overlay_way() -> np.ndarray:
        out = asr_audio._ToRate(44100)
        for start in range(0, len(mono), 2 * 44100):      # fed in blocks, as decode does
            out.feed(mono[start:start + 2 * 44100])
        return out.finish()

    ways = [("overlay: soxr HQ, streamed in 2 s blocks (asr_audio._ToRate)", overlay_way),
            ("soxr HQ, whole signal at once", lambda: soxr.resample(mono, 44100, 16000, quality="HQ")),
            ("scipy resample_poly (the overlay's way before soxr)", lambda: resample_poly(mono, 160, 441)),
            ("scipy resample (FFT)", lambda: resample(mono, len(reference))),
            ("np.interp (linear; aliases)",
             lambda: np.interp(np.arange(len(reference)) * 44100 / 16000, np.arange(len(mono)), mono))]
    timings = _median_ms(dict(ways))
    out = []
    for name, fn in ways:
        result = np.asarray(fn(), dtype=np.float64)[:len(reference)]
        err = float(np.sqrt(np.mean((result - reference[:len(result)]) ** 2)) / np.sqrt(np.mean(reference ** 2)))
        out.append((name, timings[name], "identical" if err < 1e-9 else f"{20 * np.log10(err):.0f} dB"))
    return out


# ---- the profile ---------------------------------------------------------------------
# Each sample goes to the innermost frame that names a part (checked in this
# order per frame); frames read "function (path:line)".
BUCKETS = [
    ("multipart parsing (python-multipart, starlette formparsers, UploadFile)",
     ("/multipart/", "/python_multipart/", "starlette/formparsers.py", "starlette/datastructures.py", "/tempfile.py")),
    ("audio: soundfile read/info", ("soundfile.py",)),
    ("audio: resampling (soxr)", ("/soxr/",)),
    ("audio: asr_audio checks, mix-down, clip", ("asr_audio.py",)),
    ("thread handoffs (asr_worker queue, asyncio.to_thread)",
     ("asr_worker.py", "concurrent/futures", "asyncio/threads.py", "asyncio/futures.py")),
    ("formatting: asr_formats, diarizer, asr_types", ("asr_formats.py", "diarizer.py", "asr_types.py")),
    ("JSON encoding (json, starlette responses)", ("/json/", "starlette/responses.py")),
    ("request log (logging)", ("/logging/",)),
    ("overlay main.py", ("parakeet_patches/main.py",)),
    ("HTTP (uvicorn, h11)", ("/uvicorn/", "/h11/")),
    ("routing, middleware (fastapi, starlette, anyio)", ("/fastapi/", "/starlette/", "/anyio/")),
    ("asyncio event loop, sockets", ("/asyncio/", "selectors.py")),
]
# py-spy's own idle detection does not see these waits here, so a sample whose
# innermost frame is one of them is a thread waiting, not working: dropped.
IDLE = ("Condition.wait (", "EpollSelector.select (", "JobQueue.get (", "Event.wait (", "Thread.join (")


def _idle(leaf: str) -> bool:
    # A ThreadPoolExecutor worker waiting for work shows only its loop frame.
    return leaf.startswith(IDLE) or (leaf.startswith("_worker (") and "concurrent/futures/thread.py" in leaf)


def find_py_spy() -> str | None:
    for candidate in (shutil.which("py-spy"), str(Path(sys.executable).parent / "py-spy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Profile:
    """py-spy's working samples of one server: CPU ms per request by part and by function."""

    RATE = 250

    def __init__(self, raw: str, requests: int) -> None:
        self.requests = requests
        self.parts: collections.Counter = collections.Counter()
        self.functions: collections.Counter = collections.Counter()
        self.samples = 0
        for line in raw.splitlines():
            stack, _sep, count = line.rpartition(" ")
            frames = stack.split(";")
            if not count.isdigit() or _idle(frames[-1]):
                continue
            n = int(count)
            self.samples += n
            self.functions[_short(frames[-1])] += n
            for frame in reversed(frames):
                part = next((b for b, keys in BUCKETS if any(k in frame for k in keys)), None)
                if part:
                    self.parts[part] += n
                    break
            else:
                self.parts["other"] += n

    def ms(self, samples: int) -> float:
        return samples / self.RATE / max(1, self.requests) * 1000


def profile(py_spy: str, server: Server, rows: list[Row], conns: Connections, seconds: float,
            out: Path) -> Profile:
    """Sample ``server`` with py-spy while one client cycles through ``rows``."""
    spy = subprocess.Popen([py_spy, "record", "--pid", str(server.proc.pid), "--rate", str(Profile.RATE),
                            "--format", "raw", "--full-filenames", "--duration", str(int(seconds)),
                            "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)                             # let py-spy attach before the load starts
    stop = time.monotonic() + seconds - 2
    sent = 0
    while time.monotonic() < stop and sent < 20000:
        row = rows[sent % len(rows)]
        conns.post(server.port, 0, row.path, row.body, row.ctype)
        sent += 1
    _unused, err = spy.communicate(timeout=seconds + 30)
    if spy.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')[-500:]}; "
                           "run with --no-profile to skip the profile")
    return Profile(out.read_text(), sent)


def _short(frame: str) -> str:
    """'fn (/long/path/site-packages/pkg/mod.py:12)' -> 'fn (pkg/mod.py)'."""
    name, _sep, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    for marker in ("site-packages/", "parakeet_patches/", "benchmarks/"):
        if marker in path:
            return f"{name} ({path.split(marker, 1)[1]})"
    if "/lib/python3" in path:                  # the standard library: drop the version folder
        return f"{name} ({path.split('/lib/python3', 1)[1].split('/', 1)[-1]})"
    return f"{name} ({path})"


# ---- the report ----------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100, help="requests per row and client count")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds the requests are split into")
    parser.add_argument("--time-cap", type=float, default=600, help="seconds; no new round starts after it")
    parser.add_argument("--profile-seconds", type=float, default=20)
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    args = parser.parse_args()
    deadline = time.monotonic() + args.time_cap
    audio = clips()
    conns = Connections()
    with tempfile.TemporaryDirectory(prefix="request-cost-") as tmp:
        overlay, floor = Server("overlay", OVERLAY_PORT, Path(tmp)), None
        try:
            floor = Server("floor", FLOOR_PORT, Path(tmp))
            rows: list[Row] = []
            for clip, data in audio.items():
                body, ctype = multipart(data, FORMATS["json"])
                rows += [Row(floor, "/raw", clip, "json", body, ctype), Row(floor, PATH, clip, "json", body, ctype)]
                rows += [Row(overlay, PATH, clip, fmt, *multipart(data, fields)) for fmt, fields in FORMATS.items()]
            for row in rows:
                check_answer(row, conns)
            done = measure(rows, conns, args.requests, args.rounds, deadline)
            py_spy = None if args.no_profile else find_py_spy()
            prof = None
            if py_spy:
                # The same mix of clips for both: each overlay row, and the floor once per overlay format.
                # All clips (the floor once per overlay format, for the same mix), and the 10 s 16 kHz json row
                # alone, where the floor goal is.
                ten = [r for r in rows if r.clip == "10 s, 16 kHz mono" and r.fmt == "json" and r.path == PATH]
                seconds = args.profile_seconds
                prof = {"all rows": (profile(py_spy, overlay, [r for r in rows if r.server is overlay], conns,
                                             seconds, Path(tmp) / "overlay.txt"),
                                     profile(py_spy, floor, [r for r in rows if r.label == "floor: multipart"
                                                             for _fmt in FORMATS], conns,
                                             seconds, Path(tmp) / "floor.txt")),
                        "10 s 16 kHz, json": (profile(py_spy, overlay, [r for r in ten if r.server is overlay], conns,
                                                      seconds / 2, Path(tmp) / "overlay-10.txt"),
                                              profile(py_spy, floor, [r for r in ten if r.server is floor], conns,
                                                      seconds / 2, Path(tmp) / "floor-10.txt"))}
        finally:
            overlay.stop()
            if floor:
                floor.stop()
    queue, direct_us = queue_overhead()
    decodes = decode_costs(audio)
    methods = resample_methods(audio["10 s, 44.1 kHz stereo"])
    markdown, met = report(rows, done, args, queue, direct_us, decodes, methods, prof, args.no_profile)
    write_section("overlay-request-cost", markdown)
    print(markdown)
    return 0 if met else 1


def report(rows, done, args, queue, direct_us, decodes, methods, prof, skipped) -> tuple[str, bool]:
    def find(clip: str, label: str) -> Row:
        return next(r for r in rows if r.clip == clip and r.label == label)

    ten, wide, sixty = "10 s, 16 kHz mono", "10 s, 44.1 kHz stereo", "60 s, 16 kHz mono"
    failures = sum(len(r.failures) for r in rows)
    table = ["| clip | server | 1 client: median (ms) | above floor (ms) | vs floor | server CPU (ms) "
             "| 4 clients: wall per request (ms) | vs floor | server CPU (ms) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        base = find(row.clip, "floor: multipart")
        table.append(
            f"| {row.clip} | {row.label} | {row.median_ms(1):.2f} | {row.median_ms(1) - base.median_ms(1):+.2f} | "
            f"{row.median_ms(1) / base.median_ms(1):.2f} | {row.cpu_ms(1):.2f} | {row.per_request_ms(4):.2f} | "
            f"{row.per_request_ms(4) / base.per_request_ms(4):.2f} | {row.cpu_ms(4):.2f} |")

    def above(clip: str, fmt: str, clients: int = 1) -> float:
        row, base = find(clip, f"overlay, {fmt}"), find(clip, "floor: multipart")
        return row.median_ms(clients) - base.median_ms(clients)

    goals = []
    base10 = find(ten, "floor: multipart").median_ms(1)
    for fmt in FORMATS:
        ms = find(ten, f"overlay, {fmt}").median_ms(1)
        ok = ms <= RATIO_GOAL * base10 and ms - base10 <= ABOVE_GOAL_MS
        goals.append((f"10 s 16 kHz, {fmt}: at most {RATIO_GOAL}x the floor and {ABOVE_GOAL_MS:g} ms above it",
                      f"{ms / base10:.2f}x, {ms - base10:+.2f} ms", ok))
    resampling = above(wide, "json") - above(ten, "json")
    goals.append((f"resampling 10 s of 44.1 kHz stereo adds at most {RESAMPLE_GOAL_MS:g} ms (json, above the "
                  "floor, vs 16 kHz mono)", f"{resampling:+.2f} ms", resampling <= RESAMPLE_GOAL_MS))
    for fmt in FORMATS:
        long, short = above(sixty, fmt), above(ten, fmt)
        # Below 0.5 ms the 10 s figure is within the noise of a difference of medians.
        ratio = long / max(short, 0.5)
        goals.append((f"60 s clip, {fmt}: time above the floor at most {SCALE_GOAL:g}x the 10 s clip's",
                      f"{long:.2f} ms vs {short:.2f} ms: {ratio:.1f}x", ratio <= SCALE_GOAL))
    # The goal: at most 100 us, or explain what bounds it. The bound is measured beside it: the bare
    # round trip to a thread and back, in the same placement (pinned ones judged; unpinned is where the
    # scheduler happened to put the threads, shown for reference).
    judged = [p for p in ("same core", "other core") if p in queue] or ["unpinned"]
    cells, queue_ok = [], True
    for place in judged:
        handoff, bound = queue[place]["DecodeWorker.run"], queue[place]["bare round trip"]
        ok = handoff <= QUEUE_GOAL_US or bound >= 0.5 * handoff
        queue_ok = queue_ok and ok
        cells.append(f"{place} {handoff:.0f} us (bare round trip {bound:.0f} us)"
                     + ("" if handoff <= QUEUE_GOAL_US else ": bounded" if ok else ""))
    goals.append((f"decode queue handoff at most {QUEUE_GOAL_US:g} us, or bounded by the bare round trip to a "
                  "thread and back (at least half of it), worker thread on the loop's core and on the other",
                  "; ".join(cells), queue_ok))
    goals.append(("every request answered 200", f"{failures} failures", failures == 0))
    met = all(ok for _g, _v, ok in goals)
    goal_lines = ["| goal | measured | |", "|---|---:|---|"]
    goal_lines += [f"| {g} | {v} | {'met' if ok else '**NOT met**'} |" for g, v, ok in goals]

    lines = [
        "## Overlay: its own cost per request",
        "",
        "`benchmarks/overlay_request_cost.py`: the overlay app (`main.create_app`) with a null engine that",
        "answers at once (a transcript of 3.2 words per second of audio, word timestamps spread over it, a",
        "turn every 4 s for diarization), against the floor: a bare FastAPI endpoint that reads the same",
        "multipart upload and answers a fixed JSON (and `/raw`, which reads the body without parsing it).",
        "Each is served by uvicorn (the overlay's `main()` settings, h11, no uvloop) in its own process on",
        "loopback; clients send real speech (`files/audio` fixtures back to back; the 44.1 kHz stereo clip",
        "is the 10 s one resampled, with a delayed second channel) over keep-alive HTTP connections.",
        f"{args.requests} requests per overlay row and client count (the multipart floor twice as many), in",
        f"{done} rounds; requests go one by one (4 clients: a burst of 4 at once), each after one to the other",
        "server, so both wake from the same idle wait, and which row of a clip goes first turns every cycle"
        f"{'' if done == args.rounds else f' (of {args.rounds}: stopped at the time cap)'}; {machine()}.",
        "*Above floor* and *vs floor* compare with the multipart floor of the same clip; *server CPU* is the",
        "CPU time of all the server's threads per request (schedstat). The goals are judged on the 1-client",
        "medians; with 4 clients the wall time per request is the inverse of the throughput.",
        "",
        *table,
        "",
        *goal_lines,
        "",
        f"**Goals {'met' if met else 'NOT met'}.**",
        "",
        "In-process, same run: `asr_audio.decode` takes " + ", ".join(
            f"{ms:.2f} ms ({name})" for name, ms in decodes.items()) + ".",
        "",
        "Resampling 10 s of 44.1 kHz speech to 16 kHz (error against scipy's default polyphase filter):",
        "",
        "| method | ms | error |",
        "|---|---:|---:|",
        *[f"| {name} | {ms:.2f} | {err} |" for name, ms, err in methods],
        "",
        "Decode queue, a no-op job awaited (median per job, the ways taking turns job by job; us): the bare round",
        "trip is a SimpleQueue to a waiting plain thread that wakes the loop with call_soon_threadsafe (no job, no",
        "timeout), the least any handoff to a thread and back costs. Its two thread wake-ups (the worker's,",
        "then the event loop's through its self-pipe) are the OS's to pay, and where the scheduler puts the",
        "thread decides them: pinned rows put the event loop on the first core and the thread on the same",
        "core or the other one.",
        "",
        "| placement | DecodeWorker.run | bare round trip | DecodeWorker beyond it | asyncio.to_thread |",
        "|---|---:|---:|---:|---:|",
        *[f"| {place} | {ways['DecodeWorker.run']:.0f} | {ways['bare round trip']:.0f} | "
          f"{ways['DecodeWorker.run'] - ways['bare round trip']:+.0f} | "
          + (f"{ways['asyncio.to_thread']:.0f} |" if "asyncio.to_thread" in ways else "- |")
          for place, ways in queue.items()],
        "",
        f"A direct call takes {direct_us:.2f} us. What DecodeWorker adds beyond the bare round",
        "trip is the job's bookkeeping (its future, the time limit, the queue bound);",
        "it hands the job over through a SimpleQueue and wakes the loop once (queue.Queue, wrap_future and",
        "wait_for took some 120 us more in an earlier run).",
    ]
    if prof:
        (over, base), (over10, base10) = prof["all rows"], prof["10 s 16 kHz, json"]
        parts = sorted(set(over.parts) | set(base.parts) | set(over10.parts),
                       key=lambda p: base.parts[p] - over.parts[p])

        def cells(o: Profile, f: Profile, part: str | None) -> str:
            mo, mf = (o.ms(o.samples), f.ms(f.samples)) if part is None else (o.ms(o.parts[part]), f.ms(f.parts[part]))
            return f"{mo:.2f} | {mf:.2f} | {mo - mf:+.2f}"

        extra = sorted(((over10.ms(over10.parts[p]) - base10.ms(base10.parts[p]), p) for p in parts), reverse=True)
        lines += ["", f"Where the 10 s 16 kHz json request's extra CPU goes (profile below): "
                  f"{over10.ms(over10.samples) - base10.ms(base10.samples):.2f} ms more than the floor, of which "
                  + ", ".join(f"{ms:.2f} {p}" for ms, p in extra[:4] if ms > 0) + "."]
        lines += ["", f"Profile (py-spy, {Profile.RATE} Hz, all threads, waits dropped): one client cycling through "
                  f"the overlay rows ({over.requests} requests), then through the floor with the same clips "
                  f"({base.requests}); then the 10 s 16 kHz json row alone ({over10.requests} and {base10.requests}). "
                  "CPU ms per request by part, each sample counted once, for the innermost frame that names a part "
                  "(sampling slows both servers alike):", "",
                  "| part | all rows: overlay | floor | overlay - floor | 10 s 16 kHz json: overlay | floor | "
                  "overlay - floor |", "|---|---:|---:|---:|---:|---:|---:|",
                  *[f"| {p} | {cells(over, base, p)} | {cells(over10, base10, p)} |" for p in parts],
                  f"| all | {cells(over, base, None)} | {cells(over10, base10, None)} |", "",
                  "The overlay's top functions by own time, all rows (the innermost frame; C code counts for the",
                  "Python function that called it):", "", "| function | ms per request | share |", "|---|---:|---:|",
                  *[f"| `{f}` | {over.ms(n):.2f} | {n / over.samples:.1%} |"
                    for f, n in over.functions.most_common(14)]]
    else:
        why = "--no-profile." if skipped else "py-spy is not installed (requirements/dev.txt pins it)."
        lines += ["", f"Profile skipped: {why}"]
    return "\n".join(lines), met


if __name__ == "__main__":
    sys.exit(main())
