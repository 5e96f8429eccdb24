# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn HTTP outcomes into named probe failures.

Private to this collection. ``call`` sends one request through the run's
client and returns the reply when its status is expected; otherwise it
raises ``Fail`` with the failure code a person can act on: a decode that
crashed with "illegal memory access" is the cuda-python hazard, a 503 that
outlived every retry is ``unavailable``, a 502/504 from Spark Control (its
back end does not answer) is ``service_down``, no answer is ``connection``
or ``timeout``.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpFailure, Reply
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import Fail, Settings

CUDA_HAZARD = ("the decoder crashed on real speech ({error}): the cuda-python hazard (CUDA-graph decoding). "
               "Remove cuda-python/cuda-bindings from the parakeet-asr container (recreate it from its image "
               "and run reapply_patches.yml); silence would have passed this check")
_CRASH_MARKERS = ("illegal memory access", "cudaerrorillegaladdress", "cuda error")


def call(settings: Settings, method: str, url: str, *, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Reply:
    try:
        reply = settings.client.request(method, url, **kwargs)
    except HttpFailure as exc:
        raise Fail(exc.kind, str(exc), url=url) from None
    if reply.status in expect:
        return reply
    details = {"url": url, "status": reply.status, "attempts": reply.attempts}
    error = reply.error_text()
    if reply.status == 503 and reply.exhausted:
        raise Fail("unavailable", f"{method} {url} still answered 503 after {reply.attempts} tries over "
                                  f"{reply.seconds:.1f} s (Retry-After honoured): {error}", **details)
    if reply.status in (502, 504):
        raise Fail("service_down", f"{method} {url} answered {reply.status}: the service behind it does not "
                                   f"answer ({error}); is its container running?", **details)
    if reply.status >= 500 and any(marker in error.lower() for marker in _CRASH_MARKERS):
        raise Fail("decoder_crash", CUDA_HAZARD.format(error=error), **details)
    raise Fail("http_error", f"{method} {url} answered {reply.status}: {error}", **details)


def json_body(reply: Reply, url: str) -> Any:
    try:
        return reply.json()
    except (ValueError, UnicodeDecodeError):
        raise Fail("bad_response", f"{url} did not answer JSON: {reply.content[:120]!r}", url=url) from None
