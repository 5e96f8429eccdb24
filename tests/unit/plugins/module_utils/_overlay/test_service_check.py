"""Readiness polling and the real-speech check, against a real local HTTP server."""
from __future__ import annotations

import email.utils
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.service_check import (
    ServiceCheckError, check_speech, transcribe, wait_ready)

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import REFERENCE, FakeService


@pytest.fixture
def service():
    s = FakeService()
    yield s
    s.close()


def test_wait_ready_answers_at_once(service):
    result = wait_ready(service.url + "/ready", timeout=5)
    assert result.ready and result.status == 200


def test_wait_ready_stops_early_when_the_container_dies(service):
    service.mode = "down"
    result = wait_ready(service.url + "/ready", timeout=30, alive=lambda: "container exited with code 1", interval=0.05)
    assert not result.ready and result.detail == "container exited with code 1" and result.seconds < 5


def test_wait_ready_times_out_with_the_last_answer(service):
    service.mode = "down"
    result = wait_ready(service.url + "/ready", timeout=0.3, interval=0.1)
    assert not result.ready and "HTTP 503" in result.detail


def test_wait_ready_with_nothing_listening():
    result = wait_ready("http://127.0.0.1:9/ready", timeout=0.2, interval=0.1)
    assert not result.ready and "no answer" in result.detail


def test_check_speech_passes_and_fails_on_wer(service):
    good = check_speech(service.url + "/t", b"RIFF", REFERENCE, 0.25)
    assert good["passed"] and good["wer"] == 0.0
    service.mode = "garble"
    bad = check_speech(service.url + "/t", b"RIFF", REFERENCE, 0.25)
    assert not bad["passed"] and bad["wer"] > 0.25


def test_the_speech_check_uses_the_collections_one_word_error_rate(service):
    """Numbers and hyphens are normalised as audio_health does: a correct overlay passes."""
    service.transcript = "room twenty-one opens at nine well known"
    check = check_speech(service.url + "/t", b"RIFF", "Room 21 opens at 9. Well-known", 0.25)
    assert check["wer"] == 0.0 and check["passed"]


def test_an_empty_reference_is_refused_before_any_request(service):
    with pytest.raises(ServiceCheckError, match="reference transcript is empty"):
        check_speech(service.url + "/t", b"RIFF", " ... ", 0.25)
    assert service.transcriptions == 0


class Flaky(BaseHTTPRequestHandler):
    """503 + Retry-After for the first two requests (delta seconds, then an HTTP date), then a transcript."""
    count = 0

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Flaky.count += 1
        if Flaky.count <= 2:
            self.send_response(503)
            self.send_header("Retry-After", "0" if Flaky.count == 1 else email.utils.formatdate(usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"text": "hello"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_transcribe_waits_out_503_then_reports_other_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        assert transcribe(f"http://127.0.0.1:{server.server_address[1]}/t", b"RIFF", timeout=10) == "hello"
        assert Flaky.count == 3
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ServiceCheckError, match="transcription request to .* failed"):
        transcribe("http://127.0.0.1:9/t", b"RIFF", timeout=1)
