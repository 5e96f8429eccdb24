"""parakeet-asr overlay: the production speech server (spark_control.audio).

OpenAI-style transcription with optional diarization, health/readiness and
an /overlay report of the code that is live. Copied flat into the
container's /app by the collection; the container runs ``python /app/main.py``.
Docs: docs/overlay.md in the collection.
"""
from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
import sys
import threading
import time
import uuid
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

import asr_audio
import asr_body
import asr_formats
import asr_settings
import diarizer
from asr_types import Diarization, Transcript, clip_diarization, clip_transcript
from asr_worker import Busy, DecodeWorker

OVERLAY_VERSION = "1.0.0"
# Every file of files/parakeet_patches/ (a unit test keeps this list equal to the folder).
OVERLAY_FILES = (
    "main.py",
    "diarizer.py",
    "asr_audio.py",
    "asr_body.py",
    "asr_cpu_diarizer.py",
    "asr_engine_cpu.py",
    "asr_engine_nemo.py",
    "asr_formats.py",
    "asr_settings.py",
    "asr_types.py",
    "asr_versions.py",
    "asr_worker.py",
    "warmup.wav",
)
HERE = Path(__file__).resolve().parent
WARMUP_WAV = HERE / "warmup.wav"

log = logging.getLogger("parakeet.overlay")
request_log = logging.getLogger("parakeet.requests")


def overlay_hashes(folder: Path = HERE) -> dict[str, str | None]:
    """sha256 of each overlay file as loaded (None: the file is missing)."""
    out: dict[str, str | None] = {}
    for name in OVERLAY_FILES:
        try:
            out[name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        except OSError:
            out[name] = None
    return out


def make_engine(settings: asr_settings.Settings):
    """The engine ASR_ENGINE names: nemo, cpu, or an operator's "module:Class"
    (constructed with the Settings; the interface is in docs/overlay.md)."""
    if settings.engine == "cpu":
        from asr_engine_cpu import CpuEngine

        return CpuEngine(settings)
    if settings.engine == "nemo":
        from asr_engine_nemo import NemoEngine

        return NemoEngine(settings)
    module, _sep, cls = settings.engine.partition(":")
    try:
        return getattr(importlib.import_module(module), cls)(settings)
    except (ImportError, AttributeError) as exc:
        raise asr_settings.SettingsError(f"ASR_ENGINE={settings.engine!r}: cannot load {cls} from module "
                                         f"{module} ({type(exc).__name__}: {exc}); put its folder on "
                                         f"PYTHONPATH") from None


def error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status_code=status,
                        headers=headers)


class Readiness:
    """loading -> warming -> ready; failed (load error or decoder crash) is sticky until restart."""

    def __init__(self) -> None:
        self.phase = "loading"
        self.detail = "loading models"
        self.loaded = False

    def set(self, phase: str, detail: str) -> None:
        self.phase, self.detail = phase, detail
        log.info("readiness: %s (%s)", phase, detail)


def _boot(engine, worker: DecodeWorker, ready: Readiness, retry: float) -> None:
    """Load the models, then warm up on real speech until it succeeds."""
    try:
        worker.run_sync(engine.load)
    except Exception as exc:  # noqa: BLE001 - reported by /health/ready
        ready.set("failed", f"model load failed: {type(exc).__name__}: {exc}")
        return
    ready.loaded = True
    ready.set("warming", "warm-up decode of real speech")
    while True:
        try:
            text = worker.run_sync(lambda: _warm_up(engine))
        except Exception as exc:  # noqa: BLE001 - retried, and reported by /health/ready
            ready.set("warming", f"warm-up failed: {type(exc).__name__}: {exc}; retrying in {retry:g} s")
            if engine.is_fatal(exc):
                ready.set("failed", f"warm-up crashed the decoder: {exc}; fix the cause and restart the container")
                return
            time.sleep(retry)
            continue
        ready.set("ready", f"warm-up transcript: {text!r}")
        return


def _warm_up(engine) -> str:
    audio = asr_audio.decode(WARMUP_WAV.read_bytes(), max_seconds=60)
    text = engine.transcribe(audio.samples, words=True).text
    if not text.strip():
        raise RuntimeError(f"the warm-up clip {WARMUP_WAV.name} (real speech) gave an empty transcript")
    engine.diarize(audio.samples)
    return text


def _decode_job(engine, samples, diarize: bool, words: bool):
    """Everything that touches the models for one request (runs on the worker).

    Times are clipped to the audio here, once for every engine."""
    duration = len(samples) / asr_audio.RATE
    transcript: Transcript = clip_transcript(engine.transcribe(samples, words=words or diarize), duration)
    diar = engine.diarize(samples) if diarize and transcript.text else Diarization(turns=[])
    return transcript, clip_diarization(diar, duration)


def _parse_bool(value: str, field: str) -> bool:
    try:
        return asr_settings.switch(value, False)
    except ValueError:
        raise asr_audio.AudioError(400, f"{field}={value!r}: use true or false", "invalid_field") from None


def create_app(settings: asr_settings.Settings, engine=None, boot: bool = True) -> FastAPI:
    engine = engine if engine is not None else make_engine(settings)
    worker = DecodeWorker(settings.queue_depth, settings.queue_timeout, settings.decode_timeout)
    # Audio decoding runs before the queue, in threads, at most this many at once:
    # slots awaited on the event loop (a burst of uploads waits its turn),
    # released by the decoding thread itself.
    decodes = asyncio.Semaphore(settings.decode_concurrency)
    ready = Readiness()
    hashes = overlay_hashes()
    app = FastAPI(title="parakeet-asr (spark_control.audio overlay)", version=OVERLAY_VERSION)
    app.state.worker, app.state.ready, app.state.engine = worker, ready, engine
    if boot:
        threading.Thread(target=_boot, args=(engine, worker, ready, settings.warmup_retry),
                         name="boot", daemon=True).start()

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        return error(400, f"invalid request: {exc.errors()[0].get('msg', 'malformed')}", "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        return error(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(Exception)
    async def _crash(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return error(500, f"internal error: {type(exc).__name__}: {exc}", "internal_error")

    @app.get("/health")
    def health():
        return {"status": "ok", "engine": engine.name, "phase": ready.phase}

    @app.get("/health/ready")
    def health_ready():
        body = {"ready": ready.phase == "ready", "phase": ready.phase, "detail": ready.detail,
                "engine": engine.name, "queue": worker.pending}
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": settings.model_id, "object": "model", "owned_by": "parakeet-asr"}]}

    @app.get("/overlay")
    def overlay():
        return {"version": OVERLAY_VERSION, "files": hashes, "engine": engine.name,
                "cuda_graphs": settings.cuda_graphs, "runtime": engine.describe()}

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(request: Request):
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:12]
        record = {"event": "transcription", "id": rid, "audio_s": None, "queue_wait_ms": None,
                  "decode_ms": None, "status": None, "outcome": None}
        # Wall-clock start/end (epoch s) let operators line requests up across
        # hosts and logs; durations come from the monotonic clock.
        record["start"] = round(time.time(), 3)
        started = time.monotonic()
        try:
            response = await _transcribe(request, record)
        except asr_audio.AudioError as exc:
            response = error(exc.status, str(exc), exc.code)
            record["outcome"] = f"rejected:{exc.code}"
        except Busy as exc:
            response = error(503, f"busy: {exc}; retry after {exc.retry_after} s", "busy",
                             {"Retry-After": str(exc.retry_after)})
            record["outcome"] = "busy"
        except Exception as exc:  # noqa: BLE001 - a decode failure is an answer, not a crash
            log.exception("decode failed (request %s)", rid)
            if engine.is_fatal(exc):
                ready.set("failed", f"decoder crashed: {exc}; restart the container")
            response = error(500, f"decode failed: {exc}", "decode_failed")
            record["outcome"] = "error"
        record["status"] = response.status_code
        record["total_ms"] = round((time.monotonic() - started) * 1000, 1)
        record["end"] = round(record["start"] + record["total_ms"] / 1000, 3)
        response.headers["X-Request-Id"] = rid
        timing = [f"{k.split('_', maxsplit=1)[0]};dur={record[k]}" for k in ("queue_wait_ms", "decode_ms") if record[k] is not None]
        if timing:
            response.headers["Server-Timing"] = ", ".join(timing)
        request_log.info(json.dumps(record, separators=(",", ":")))
        return response

    async def _transcribe(request: Request, record: dict) -> Response:
        limit = settings.max_upload_bytes
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise asr_audio.AudioError(400, "send multipart/form-data with the audio in a 'file' field",
                                       "not_multipart")
        form = await asr_body.read_form(request, limit, settings.body_timeout)
        try:
            return await _answer(form, record)
        finally:
            await form.close()

    async def _decode_bounded(data: bytes) -> asr_audio.Audio:
        """Decode in a thread holding one of the ``decodes`` slots until the
        thread ends: shielded, so a client that goes away cannot free the slot
        of a decode that is still running (or never start it and keep the slot).
        What the header refuses is refused first, without a slot (sub-ms), and
        a short 16 kHz PCM WAV is decoded at once, without one; any other
        upload waits up to ASR_DECODE_WAIT_S for a slot, then 503."""
        header = asr_audio.check(data, settings.max_audio_seconds, settings.max_source_samples)
        if header.cheap():
            # The usual upload (a short 16 kHz WAV): decoded on the event loop,
            # which it holds for well under a millisecond; two thread wake-ups
            # would cost about as much as the decoding.
            return asr_audio.decode(data, settings.max_audio_seconds, settings.max_source_samples, header)
        try:
            if not settings.decode_wait and decodes.locked():
                raise TimeoutError
            await asyncio.wait_for(decodes.acquire(), timeout=settings.decode_wait or None)
        except TimeoutError:
            raise Busy(f"{settings.decode_concurrency} uploads are being decoded (ASR_DECODE_CONCURRENCY) and no "
                       f"slot came free within {settings.decode_wait:g} s (ASR_DECODE_WAIT_S)", 1) from None
        loop = asyncio.get_running_loop()

        def releasing() -> asr_audio.Audio:
            try:
                return asr_audio.decode(data, settings.max_audio_seconds, settings.max_source_samples, header)
            finally:
                loop.call_soon_threadsafe(decodes.release)

        return await asyncio.shield(loop.run_in_executor(None, releasing))

    async def _answer(form, record: dict) -> Response:
        limit = settings.max_upload_bytes
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise asr_audio.AudioError(400, "missing 'file' field: attach the audio as multipart field 'file'",
                                       "missing_file")
        fmt = str(form.get("response_format") or "json").strip().lower()
        if fmt not in asr_formats.FORMATS:
            raise asr_audio.AudioError(400, f"response_format {fmt!r} is not supported: use "
                                       f"{', '.join(asr_formats.FORMATS)}", "invalid_response_format")
        grains = tuple(str(g).strip().lower() for g in
                       form.getlist("timestamp_granularities[]") + form.getlist("timestamp_granularities"))
        bad = [g for g in grains if g not in asr_formats.GRANULARITIES]
        if bad:
            raise asr_audio.AudioError(400, f"timestamp_granularities {bad} not supported: use word and/or segment",
                                       "invalid_timestamp_granularities")
        language = str(form.get("language") or "").strip().lower()
        if language and "*" not in settings.languages and language not in settings.languages:
            raise asr_audio.AudioError(400, f"language {language!r} is not served by {settings.model_id}: use "
                                       f"{', '.join(settings.languages)} (ASR_LANGUAGES)", "unsupported_language")
        diarize = _parse_bool(form.get("diarize") or "", "diarize")
        record.update(format=fmt, diarize=diarize)
        if not ready.loaded:
            raise Busy(f"models are not loaded yet ({ready.detail})", 5)
        # The body was capped while it was read; read(limit + 1) would allocate a
        # buffer of the whole limit for every spooled upload.
        data = await upload.read()
        if len(data) > limit:
            raise asr_audio.AudioError(413, f"the audio file is over the {limit}-byte limit (ASR_MAX_UPLOAD_MB)",
                                       "too_large")
        audio = await _decode_bounded(data)
        record["audio_s"] = round(audio.duration, 3)
        words = fmt == "verbose_json" and "word" in grains
        (transcript, diar), job = await worker.run(lambda: _decode_job(engine, audio.samples, diarize, words))
        record["queue_wait_ms"] = round(job.queue_wait * 1000, 1)
        record["decode_ms"] = round(job.run_time * 1000, 1)
        speakers = None
        if diarize:
            capped = diarizer.cap_speakers(diar)
            segments = diarizer.speaker_segments(transcript.words, transcript.segments, capped)
            speakers = {"segments": segments, "speakers": diarizer.speakers_in(segments),
                        "speaker_limit_reached": capped.limit_reached}
        rendered = asr_formats.render(fmt, transcript, audio.duration, grains or ("segment",), speakers)
        record["outcome"] = "ok" if transcript.text else "ok:empty"
        if isinstance(rendered.body, dict):
            return JSONResponse(rendered.body)
        return PlainTextResponse(rendered.body, media_type=rendered.media_type)

    return app


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    request_log.propagate = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> int:
    _configure_logging()
    try:
        settings = asr_settings.load()
        engine = make_engine(settings)
    except asr_settings.SettingsError as exc:
        print(f"parakeet-asr overlay: bad setting: {exc}", file=sys.stderr)
        return 2
    log.info("overlay %s, engine %s, model %s, CUDA graphs %s", OVERLAY_VERSION, settings.engine,
             settings.model_id, "ON (unsafe on GB10)" if settings.cuda_graphs else "off")
    app = create_app(settings, engine)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
