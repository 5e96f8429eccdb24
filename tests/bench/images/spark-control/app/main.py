"""Spark Control stand-in: the front server of the audio services.

`/v1/models` lists the STT model and the Kokoro voices (never the LLM, by
design); `/api/status` reports `vllm.current_model`; `/v1/audio/*` is
proxied to parakeet-asr (transcriptions) and kokoro (speech, voices), with
bodies streamed both ways and status codes and Retry-After passed through.
Test infrastructure: see ../README.md.
"""
from __future__ import annotations

import os

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from spark_bench_http import catch_all, error, serve
from starlette.background import BackgroundTask

STT_URL = os.environ.get("STT_URL", "http://127.0.0.1:8010").rstrip("/")
TTS_URL = os.environ.get("TTS_URL", "http://127.0.0.1:8880").rstrip("/")
VLLM_MODEL = os.environ.get("VLLM_CURRENT_MODEL", "")
REQUEST_HEADERS = ("content-type", "content-length", "accept")
REPLY_HEADERS = ("content-type", "content-length", "content-encoding", "content-disposition", "retry-after")

app = FastAPI(title="spark-control (bench stand-in)")
catch_all(app)
client = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=5.0))


async def get_json(url: str):
    reply = await client.get(url)
    reply.raise_for_status()
    return reply.json()


def voice_ids(body) -> list[str]:
    # Kokoro-FastAPI answers plain ids up to 0.2.x and {"id", "name"} objects
    # after that; accept both.
    voices = body.get("voices", []) if isinstance(body, dict) else []
    return [v["id"] if isinstance(v, dict) else str(v) for v in voices if isinstance(v, (str, dict)) and v]


async def proxy(request: Request, upstream: str) -> Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() in REQUEST_HEADERS}
    outgoing = client.build_request(request.method, upstream, headers=headers,
                                    content=request.stream() if request.method == "POST" else None)
    try:
        reply = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        return error(502, f"upstream {upstream} did not answer ({exc.__class__.__name__}); "
                          "check that the service is running", "upstream_error")
    passed = {k: v for k, v in reply.headers.items() if k.lower() in REPLY_HEADERS}
    return StreamingResponse(reply.aiter_raw(), status_code=reply.status_code, headers=passed,
                             background=BackgroundTask(reply.aclose))


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/v1/models")
async def models():
    try:
        stt = await get_json(f"{STT_URL}/v1/models")
        voices = voice_ids(await get_json(f"{TTS_URL}/v1/audio/voices"))
    except (httpx.HTTPError, ValueError) as exc:
        return error(502, f"could not list models from the audio services: {exc}", "upstream_error")
    data = [dict(m, type="stt") for m in stt.get("data", []) if isinstance(m, dict)]
    data += [{"id": v, "object": "model", "owned_by": "kokoro", "type": "tts-voice"} for v in voices]
    return {"object": "list", "data": data}


@app.get("/api/status")
async def status():
    services = {}
    for name, url in (("stt", STT_URL), ("tts", TTS_URL)):
        try:
            up = (await client.get(f"{url}/health", timeout=5.0)).status_code == 200
        except httpx.HTTPError:
            up = False
        services[name] = {"url": url, "up": up}
    return {"vllm": {"current_model": VLLM_MODEL}, "services": services}


@app.post("/v1/audio/transcriptions")
async def transcriptions(request: Request):
    return await proxy(request, f"{STT_URL}/v1/audio/transcriptions")


@app.post("/v1/audio/speech")
async def speech(request: Request):
    return await proxy(request, f"{TTS_URL}/v1/audio/speech")


@app.get("/v1/audio/voices")
async def voices(request: Request):
    return await proxy(request, f"{TTS_URL}/v1/audio/voices")


if __name__ == "__main__":
    serve(app, "CONTROL", 9999)
