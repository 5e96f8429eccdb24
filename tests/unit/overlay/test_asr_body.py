"""The request body is bounded while it is read: bytes (413 at the cap, also
without a Content-Length) and time (408 when the client stalls).

The app is called as ASGI directly, so the test decides what the client
sends, when, and sees how much of it the server took."""
from __future__ import annotations

import asyncio
import time

import pytest

import asr_body
import asr_settings
import main
from fakes import FakeEngine

BOUNDARY = "fuzzyboundary"
HEAD = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
        f"Content-Type: audio/wav\r\n\r\n").encode()
CHUNK = 64 * 1024


def scope(headers: dict[str, str]) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/v1/audio/transcriptions", "raw_path": b"/v1/audio/transcriptions", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}


class Client:
    """Sends ``total`` bytes of a multipart body in 64 KiB chunks, then stalls
    for ever if ``stall`` (a client that stopped sending); counts what was taken."""

    def __init__(self, total: int, stall: bool = False, tail: bytes = b"") -> None:
        self.total, self.stall, self.tail, self.taken = total, stall, tail, 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        if self.taken >= self.total:
            if self.stall:
                await asyncio.sleep(3600)
            self.taken += len(self.tail)
            return {"type": "http.request", "body": self.tail, "more_body": False}
        body = HEAD if self.taken == 0 else bytes(min(CHUNK, self.total - self.taken))
        self.taken += len(body)
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def run(app, client: Client, headers: dict[str, str], limit: float = 20) -> float:
    started = time.monotonic()
    asyncio.run(asyncio.wait_for(app(scope(headers), client.receive, client.send), limit))
    return time.monotonic() - started


@pytest.fixture
def app():
    env = {"ASR_ENGINE": "cpu", "ASR_MAX_UPLOAD_MB": "0.5", "ASR_BODY_TIMEOUT_S": "0.5"}
    return main.create_app(asr_settings.load(env), FakeEngine())


MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_a_chunked_upload_is_cut_off_at_the_cap(app):
    """No Content-Length: 20 MB offered, the server stops taking at 0.5 MB + the form overhead."""
    client = Client(20 * 1024 * 1024)
    run(app, client, MULTIPART | {"transfer-encoding": "chunked"})
    assert client.status == 413 and b"too_large" in client.body and b"ASR_MAX_UPLOAD_MB" in client.body
    cap = int(0.5 * 1024 * 1024) + asr_body.FORM_OVERHEAD
    assert cap < client.taken <= cap + CHUNK + len(HEAD)


def test_a_declared_length_over_the_cap_is_refused_before_reading(app):
    client = Client(20 * 1024 * 1024)
    run(app, client, MULTIPART | {"content-length": str(20 * 1024 * 1024)})
    assert client.status == 413 and client.taken == 0


def test_a_client_that_stalls_gets_408_after_the_body_timeout(app):
    client = Client(200_000, stall=True)
    took = run(app, client, MULTIPART | {"content-length": "300000"})
    assert client.status == 408 and b"body_timeout" in client.body and b"ASR_BODY_TIMEOUT_S" in client.body
    assert b"200" in client.body                          # says how many bytes came in
    assert 0.5 <= took < 5


def test_a_body_that_arrives_in_time_is_parsed(app):
    """The bounded reader hands the whole form on: its file reaches the audio checks."""
    deadline = time.monotonic() + 10
    while not app.state.ready.loaded and time.monotonic() < deadline:
        time.sleep(0.01)
    client = Client(200_000, tail=f"\r\n--{BOUNDARY}--\r\n".encode())
    run(app, client, MULTIPART)
    assert client.status == 400 and b"not_audio" in client.body, client.body


def test_a_malformed_boundary_is_400(app):
    client = Client(1000)
    run(app, client, {"content-type": "multipart/form-data"})
    assert client.status == 400 and b"bad_multipart" in client.body
