"""The health run's HTTP client against a real local server: 503 storms, Retry-After, errors."""
from __future__ import annotations

import socket

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._http import (
    HttpClient, HttpFailure, retry_after_seconds)

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import (
    Reply, ScriptedServer, self_signed, server_tls)


class Sleeps:
    """Records the waits instead of sleeping, and advances a fake clock."""

    def __init__(self):
        self.now = 0.0
        self.waits = []

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


def client(sleeps, **kw):
    return HttpClient(sleep=sleeps.sleep, clock=sleeps.clock, **kw)


def test_503_is_retried_honouring_retry_after_then_succeeds():
    storm = [Reply(503, {"error": {"message": "busy"}}, {"Retry-After": "3"})] * 2 + [Reply(200, {"text": "hi"})]
    sleeps = Sleeps()
    with ScriptedServer({"GET /x": storm}) as srv:
        reply = client(sleeps, backoff=0.5).request("GET", srv.url + "/x")
    assert reply.status == 200 and reply.json() == {"text": "hi"}
    assert reply.attempts == 3
    assert sleeps.waits == [3.0, 3.0]  # Retry-After (3 s) beats the backoff (0.5, 1)
    assert srv.count("GET /x") == 3


def test_backoff_grows_without_retry_after():
    sleeps = Sleeps()
    with ScriptedServer({"GET /x": [Reply(503)] * 3 + [Reply(200, {})]}) as srv:
        client(sleeps, backoff=0.5).request("GET", srv.url + "/x")
    assert sleeps.waits == [0.5, 1.0, 2.0]


def test_retries_are_bounded_in_count():
    sleeps = Sleeps()
    with ScriptedServer({"GET /x": Reply(503, {}, {"Retry-After": "1"})}) as srv:
        reply = client(sleeps, retries=2, backoff=0.1).request("GET", srv.url + "/x")
    assert reply.status == 503 and reply.exhausted
    assert reply.attempts == 3 and srv.count("GET /x") == 3


def test_retries_are_bounded_in_time():
    sleeps = Sleeps()
    with ScriptedServer({"GET /x": Reply(503, {}, {"Retry-After": "20"})}) as srv:
        reply = client(sleeps, retries=10, retry_max_time=45).request("GET", srv.url + "/x")
    assert reply.exhausted
    assert sum(sleeps.waits) <= 45
    assert sleeps.waits == [20.0, 20.0]


def test_other_statuses_are_returned_at_once():
    sleeps = Sleeps()
    with ScriptedServer({"GET /x": Reply(500, {"error": {"message": "boom"}})}) as srv:
        reply = client(sleeps).request("GET", srv.url + "/x")
    assert reply.status == 500 and reply.attempts == 1 and reply.error_text() == "boom"
    assert sleeps.waits == []


def test_connection_refused_is_a_named_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HttpFailure) as info:
        HttpClient().request("GET", f"http://127.0.0.1:{port}/health")
    assert info.value.kind == "connection"
    assert "is the service" in str(info.value)


def test_timeout_is_a_named_failure():
    with ScriptedServer({"GET /slow": Reply(200, {}, delay=2.0)}) as srv:
        with pytest.raises(HttpFailure) as info:
            HttpClient(timeout=0.3).request("GET", srv.url + "/slow")
    assert info.value.kind == "timeout" and "0.3 s" in str(info.value)


def test_token_is_sent_as_bearer_and_requests_are_logged():
    with ScriptedServer({"GET /x": Reply(200, {})}) as srv:
        http = HttpClient(token="s3cret")
        http.request("GET", srv.url + "/x")
        http.request("GET", srv.url + "/x")
    assert srv.requests[0]["headers"]["Authorization"] == "Bearer s3cret"
    assert [entry["url"] for entry in http.log] == [srv.url + "/x"] * 2
    assert all(entry["seconds"] >= 0 for entry in http.log)


def test_one_session_is_reused():
    with ScriptedServer({"GET /x": Reply(200, {})}) as srv:
        http = HttpClient()
        for _unused in range(3):
            http.request("GET", srv.url + "/x")
    # one keep-alive connection: the server saw every request come from one client port
    assert len(srv.requests) == 3
    assert len({r["port"] for r in srv.requests}) == 1


@pytest.mark.parametrize("value, expected", [("5", 5.0), (None, None), ("soon", None), ("", None)])
def test_retry_after_values(value, expected):
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


# -- TLS: a certificate that is not trusted is not the same as a port without TLS --------------
@pytest.mark.parametrize("validate_certs", [True, False])
def test_https_to_a_plain_http_port_says_so(validate_certs):
    with ScriptedServer({"GET /health": Reply(200, {})}) as srv:
        url = srv.url.replace("http://", "https://") + "/health"
        with pytest.raises(HttpFailure) as info:
            HttpClient(validate_certs=validate_certs).request("GET", url)
    assert info.value.kind == "tls"
    assert str(info.value) == (f"TLS handshake with {url} failed (wrong version number): the server does not speak "
                               "TLS on that port (a plain HTTP service?): use http:// in the URL, or the service's "
                               "TLS port")


def test_untrusted_certificate_suggests_ca_path(tmp_path):
    cert, key = self_signed(tmp_path)
    with ScriptedServer({"GET /health": Reply(200, {})}, tls=server_tls(cert, key)) as srv:
        with pytest.raises(HttpFailure) as info:
            HttpClient().request("GET", srv.url + "/health")
        trusted = HttpClient(ca_path=str(cert)).request("GET", srv.url + "/health")
        unverified = HttpClient(validate_certs=False).request("GET", srv.url + "/health")
    assert info.value.kind == "tls"
    assert str(info.value) == (f"TLS certificate verification failed for {srv.url}/health (certificate verify "
                               "failed: self-signed certificate): give ca_path (the PEM of the CA that signed it), "
                               "or set validate_certs=false for a self-signed test host")
    assert trusted.status == 200 and unverified.status == 200


def test_certificate_from_another_ca_names_ca_path(tmp_path):
    cert, key = self_signed(tmp_path)
    other, _unused = self_signed(tmp_path, "other")
    with ScriptedServer({"GET /health": Reply(200, {})}, tls=server_tls(cert, key)) as srv:
        with pytest.raises(HttpFailure) as info:
            HttpClient(ca_path=str(other)).request("GET", srv.url + "/health")
    assert str(info.value) == (f"TLS certificate verification failed for {srv.url}/health (certificate verify "
                               f"failed: self-signed certificate): the certificate is not signed by a CA in ca_path "
                               f"{other}, or does not name this host")
