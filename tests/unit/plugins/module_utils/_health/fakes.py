"""Test helpers for audio_health: test audio made with numpy and a scripted HTTP server.

The server is a real ``http.server`` on 127.0.0.1 (real sockets, real
requests sessions); each route answers from a list of scripted replies so
tests can play 503 storms, crashes and wrong answers.
"""
from __future__ import annotations

import io
import json
import ssl
import subprocess
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

AUDIO = Path(__file__).resolve().parents[5] / "files" / "audio"


def wav_bytes(samples: np.ndarray, rate: int = 16000, channels: int = 1) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def tone(freq: float = 440.0, seconds: float = 3.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return wav_bytes(0.5 * np.sin(2 * np.pi * freq * t), rate)


def silence(seconds: float = 3.0, rate: int = 16000) -> bytes:
    return wav_bytes(np.zeros(int(seconds * rate)), rate)


def noise(seconds: float = 3.0, rate: int = 16000) -> bytes:
    return wav_bytes(np.random.default_rng(7).normal(0, 0.1, int(seconds * rate)), rate)


def fixture(name: str) -> tuple[bytes, str]:
    return (AUDIO / f"{name}.wav").read_bytes(), (AUDIO / f"{name}.txt").read_text().strip()


def self_signed(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command: (cert.pem, key.pem)."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class Reply:
    def __init__(self, status: int = 200, body=None, headers: dict | None = None, delay: float = 0.0):
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "audio/wav")
        return json.dumps(self.body if self.body is not None else {}).encode(), "application/json"


class ScriptedServer:
    """routes: {"POST /v1/audio/transcriptions": [Reply, ...]}; the last reply repeats."""

    def __init__(self, routes: dict[str, list[Reply] | Reply], tls: "ssl.SSLContext | None" = None):
        self.routes = {k: (v if isinstance(v, list) else [v]) for k, v in routes.items()}
        self.requests: list[dict] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real servers

            def log_message(self, *_args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                key = f"{self.command} {self.path}"
                with server._lock:
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                    server.requests.append({"key": key, "headers": dict(self.headers), "body": body,
                                            "port": self.client_address[1], "at": time.monotonic()})
                    script = server.routes.get(key)
                    reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply(404, {"detail": "Not Found"})
                try:
                    time.sleep(reply.delay)
                    data, ctype = reply.encoded()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        if name != "Content-Type":
                            self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with server._lock:
                        server.active -= 1

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, key: str) -> int:
        return sum(1 for r in self.requests if r["key"] == key)
