# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one HTTP client: a session whose 503 retries honour Retry-After.

Private to this collection; used by audio_health's probes and speech_patch's
readiness and speech checks. ``HttpClient.request`` returns a ``Reply`` for
any HTTP status and raises ``HttpFailure`` (with ``kind`` timeout,
connection or tls, and a message that says what to check) when no answer
came. A 503 is retried with exponential backoff, waiting at least what the
server's ``Retry-After`` asks, bounded both in tries and in total seconds;
when the budget is spent the last 503 is returned with ``exhausted`` set.
Every request sent is logged with its own latency (``HttpClient.log``), so
callers can tell time spent on the wire from their own overhead.
"""
from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.spark_control.audio.plugins.module_utils import _deps

requests = _deps.optional("requests")

USER_AGENT = "spark_control.audio"
RETRY_STATUSES = (503,)
CONNECT_TIMEOUT = 10.0
MAX_SINGLE_WAIT = 30.0
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")
# OpenSSL's reason in requests' SSLError text: "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)".
_SSL_REASON = re.compile(r"\[SSL: (?P<code>[A-Z0-9_]+)\] (?P<text>.+?) \(_ssl\.c")
# What OpenSSL says when the other end does not speak TLS (a plain-HTTP port, typically).
_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL",
            "HTTP_REQUEST")


class HttpFailure(Exception):
    """No HTTP answer: ``kind`` is timeout, connection or tls."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    content: bytes
    seconds: float  # from the first try to the last answer, waits included
    attempts: int = 1
    exhausted: bool = False

    def json(self) -> Any:
        import json

        return json.loads(self.content.decode("utf-8"))

    def error_text(self, limit: int = 300) -> str:
        """The server's error message (OpenAI-style JSON or plain text)."""
        try:
            body = self.json()
            if isinstance(body, dict):
                err = body.get("error", body.get("detail", body))
                if isinstance(err, dict):
                    err = err.get("message", err)
                return str(err)[:limit]
        except (ValueError, UnicodeDecodeError):
            pass
        return self.content[:limit].decode("utf-8", "replace")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    def __init__(self, *, token: str | None = None, validate_certs: bool = True, ca_path: str | None = None,
                 timeout: float = 120.0, retries: int = 5, retry_max_time: float = 60.0, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 session: Any = None, user_agent: str = USER_AGENT) -> None:
        self.session = session if session is not None else requests.Session()
        self.session.headers["User-Agent"] = user_agent
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.verify = (ca_path or True) if validate_certs else False
        self.timeout = timeout
        self.retries = retries
        self.retry_max_time = retry_max_time
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.log: list[dict[str, Any]] = []

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, url: str, **kwargs: Any):
        start = self.clock()
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE override a session's ca_path, not this.
            answer = self.session.request(method, url, timeout=(CONNECT_TIMEOUT, self.timeout),
                                          **{"verify": self.session.verify, **kwargs})
        except requests.exceptions.SSLError as exc:
            raise HttpFailure("tls", self._tls_message(url, str(exc))) from None
        except requests.exceptions.Timeout:
            raise HttpFailure("timeout", f"{method} {url} got no answer within {self.timeout:g} s") from None
        except requests.exceptions.ConnectionError as exc:
            found = _ERRNO.search(str(exc))
            reason = found.group(1).strip() if found else exc.__class__.__name__
            raise HttpFailure("connection", f"cannot connect to {url}: {reason}; is the service "
                                            "(or its container) running?") from None
        except requests.exceptions.RequestException as exc:
            raise HttpFailure("connection", f"{method} {url} failed: {exc}") from None
        finally:
            self.log.append({"method": method, "url": url, "seconds": self.clock() - start})
        return answer

    def _tls_message(self, url: str, text: str) -> str:
        """Tell a certificate that is not trusted from a port that does not speak TLS at all; never suggest
        turning verification off when it is off already."""
        found = _SSL_REASON.search(text)
        code, reason = (found.group("code"), found.group("text")) if found else ("", text.splitlines()[0][-200:])
        if code == "CERTIFICATE_VERIFY_FAILED" or "certificate verify failed" in text:
            if isinstance(self.session.verify, str):
                return (f"TLS certificate verification failed for {url} ({reason}): the certificate is not signed "
                        f"by a CA in ca_path {self.session.verify}, or does not name this host")
            return (f"TLS certificate verification failed for {url} ({reason}): give ca_path (the PEM of the CA "
                    "that signed it), or set validate_certs=false for a self-signed test host")
        if code in _NOT_TLS:
            return (f"TLS handshake with {url} failed ({reason}): the server does not speak TLS on that port "
                    "(a plain HTTP service?): use http:// in the URL, or the service's TLS port")
        hint = "" if self.session.verify is False else "; or set validate_certs=false for a self-signed test host"
        return f"TLS handshake with {url} failed ({reason}): check the server's TLS set-up{hint}"

    def request(self, method: str, url: str, **kwargs: Any) -> Reply:
        first = self.clock()
        attempt = 0
        while True:
            attempt += 1
            answer = self._send(method, url, **kwargs)
            reply = Reply(answer.status_code, dict(answer.headers), answer.content, self.clock() - first, attempt)
            if answer.status_code not in RETRY_STATUSES:
                return reply
            asked = retry_after_seconds(answer.headers.get("Retry-After"))
            wait = max(asked or 0.0, self.backoff * 2 ** (attempt - 1))
            wait = min(wait, MAX_SINGLE_WAIT)
            spent = self.clock() - first
            if attempt > self.retries or spent + wait > self.retry_max_time:
                reply.exhausted = True
                return reply
            self.sleep(wait)
