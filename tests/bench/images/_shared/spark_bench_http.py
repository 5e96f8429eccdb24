"""What the bench's stand-in HTTP servers answer alike (test infrastructure).

JSON errors shaped as the real services send them (``{"error": {"message",
"type"}}``), the bench fault's 503, a catch-all handler so no traceback
reaches a client, and serving on the host and port their environment names.
"""
from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def error(status: int, message: str, kind: str = "invalid_request_error", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)


def unavailable() -> JSONResponse:
    """The answer while the bench fault ``fail_503_until`` holds."""
    return error(503, "bench fault: service unavailable", "server_error", {"Retry-After": "1"})


def catch_all(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        return error(500, f"internal error: {exc.__class__.__name__}", "server_error")


def serve(app: FastAPI, prefix: str, port: int) -> None:
    """Listen on ``<prefix>_HOST`` (default 127.0.0.1) and ``<prefix>_PORT`` (default ``port``)."""
    uvicorn.run(app, host=os.environ.get(f"{prefix}_HOST", "127.0.0.1"),
                port=int(os.environ.get(f"{prefix}_PORT", str(port))), log_level="info")
