"""The request body, bounded in bytes and in time, parsed as multipart.

A Content-Length can be checked before reading, but a chunked upload has
none: the bytes are counted as they arrive and the read stops (413) as soon
as they pass the cap, so nothing past it is kept or spooled to disk. A
client that stops sending keeps no connection open for ever: the whole body
must arrive within the body timeout (408). Multipart parsing is starlette's
(python-multipart underneath), fed from the counted stream.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from asr_audio import AudioError

# The form's own bytes (boundaries, part headers, small fields) on top of the audio.
FORM_OVERHEAD = 1024 * 1024


class _Counted:
    """The request stream, refused once more than ``cap`` bytes came in."""

    def __init__(self, request: Request, cap: int) -> None:
        self.request, self.cap, self.received = request, cap, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.request.stream():
            self.received += len(chunk)
            if self.received > self.cap:
                raise AudioError(413, f"the upload passed {self.cap} bytes (the {self.cap - FORM_OVERHEAD}-byte "
                                 f"ASR_MAX_UPLOAD_MB limit plus {FORM_OVERHEAD} for the form); send a smaller "
                                 f"file", "too_large")
            yield chunk


async def read_form(request: Request, max_upload: int, timeout: float) -> FormData:
    """Parse the multipart body; AudioError 413 (too many bytes), 408 (too slow) or 400 (malformed)."""
    cap = max_upload + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise AudioError(413, f"upload of {int(declared)} bytes is over the {max_upload}-byte limit "
                         f"(ASR_MAX_UPLOAD_MB)", "too_large")
    stream = _Counted(request, cap)
    parser = MultiPartParser(request.headers, stream.__aiter__())
    try:
        async with asyncio.timeout(timeout):
            return await parser.parse()
    except TimeoutError:
        raise AudioError(408, f"the request body did not arrive within {timeout:g} s (ASR_BODY_TIMEOUT_S; "
                         f"{stream.received} bytes came in): send it at once", "body_timeout") from None
    except AudioError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure (MultiPartException, ...) is the client's body
        raise AudioError(400, f"malformed multipart body: {exc}", "bad_multipart") from None
