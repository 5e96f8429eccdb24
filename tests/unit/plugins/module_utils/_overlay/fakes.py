"""Test doubles for speech_patch unit tests.

``FakeContainer`` keeps a container folder in memory behind the Docker SDK
calls speech_patch uses (get_archive / put_archive / exec_run rm / restart /
logs), real tar streams included. Like the SDK's ``Container``, its ``attrs``
(and ``status``) are what the engine said at the last ``containers.get`` or
``reload()``: ``restart()`` changes only the engine's side (``live``). Like
the SDK's calls, each one raises requests' ``ConnectionError`` while
``engine_down`` is set. ``FakeService`` is a real HTTP server on
127.0.0.1 whose behaviour follows the content of the container's main.py at
its last restart: ``BROKEN`` in it makes the container exit, ``GARBLE``
makes transcripts wrong, anything else serves the reference text; ``stock``
in it means the original server, which has no /health/ready.
"""
from __future__ import annotations

import io
import json
import posixpath
import tarfile
import threading
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from docker.errors import APIError, NotFound
from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.apply import Settings, Verify
from ansible_collections.spark_control.audio.plugins.modules.speech_patch import ARGUMENT_SPEC

REFERENCE = "Good morning everyone. The quarterly report is ready."
# Real speech for the verify clip (the module's input guard refuses anything else); the fake service
# answers REFERENCE whatever it hears.
SPEECH = (Path(__file__).resolve().parents[5] / "files" / "audio" / "single_speaker.wav").read_bytes()
IMAGE = "sha256:" + "ab" * 32


# Settings as the module builds them: every default comes from its argument spec.
_DEFAULTS = {name: spec.get("default") for name, spec in ARGUMENT_SPEC.items()}
_VERIFY_DEFAULTS = {name: spec.get("default") for name, spec in ARGUMENT_SPEC["verify"]["options"].items()}


def make_verify(url: str, audio: bytes, text: str, **options) -> Verify:
    return Verify(url=url, audio=audio, text=text,
                  **{k: options.get(k, _VERIFY_DEFAULTS[k]) for k in ("max_wer", "timeout", "model", "when")})


def make_settings(**options) -> Settings:
    names = list(Settings.__dataclass_fields__)
    base = {n: _DEFAULTS.get(n) for n in names}
    base.update(files=[], max_diff_size=_DEFAULTS["_max_diff_size"], check_mode=False, diff_mode=False,
                verify=None, mode=None)
    base.update(options)
    return Settings(**base)


class ExecResult:
    def __init__(self, exit_code: int, output: bytes) -> None:
        self.exit_code, self.output = exit_code, output


class FakeContainer:
    def __init__(self, files: dict[str, bytes] | None = None, dest: str = "/app", service: "FakeService | None" = None,
                 running: bool = True, extra_dirs: dict[str, int] | None = None) -> None:
        self.name, self.id, self.dest = "parakeet-asr", "c0ffee" * 10, dest
        self.files: dict[str, dict] = {}
        for name, data in (files or {}).items():
            self.files[name] = {"data": data, "mode": 0o644, "uid": 0, "gid": 0, "kind": "file", "linkname": ""}
        self.subdir_bytes = extra_dirs or {}
        self.running, self.service = running, service
        self.calls: list[str] = []
        self.restarts = 0
        # The engine's side of the container's state; ``attrs`` is the copy read at the last get/reload.
        self.live = {"Running": running, "Restarting": False, "ExitCode": 0,
                     "Status": "running" if running else "exited", "StartedAt": "2025-06-01T09:00:00.000000000Z"}
        self.attrs = {"Image": IMAGE, "State": dict(self.live)}
        self.log = b"boot ok\n"
        self.engine_down = False
        self.fail_restarts = 0      # how many restarts time out before one works
        self.on_restart = None      # called after every restart: lets a test stop the engine mid-wait
        self.open_streams = 0
        self.client = FakeClient(self)

    # -- archive API -------------------------------------------------
    def _member(self, tar: tarfile.TarFile, arcname: str, item: dict) -> None:
        info = tarfile.TarInfo(arcname)
        info.mode, info.uid, info.gid = item["mode"], item["uid"], item["gid"]
        if item["kind"] == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, item["linkname"]
            tar.addfile(info)
        else:
            info.size = len(item["data"])
            tar.addfile(info, io.BytesIO(item["data"]))

    def archive_bytes(self, path: str) -> bytes:
        """The tar the engine streams for ``path`` (NotFound when it does not exist)."""
        self.calls.append(f"get_archive {path}")
        if self.engine_down:
            raise RequestsConnectionError("engine gone")
        root = posixpath.basename(self.dest)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            if path.rstrip("/") in (self.dest, self.dest + "/."):
                top = tarfile.TarInfo(root)
                top.type, top.mode, top.uid, top.gid = tarfile.DIRTYPE, 0o755, 1000, 1000
                tar.addfile(top)
                for sub, size in self.subdir_bytes.items():
                    info = tarfile.TarInfo(f"{root}/{sub}/blob.bin")
                    info.size = size
                    tar.addfile(info, io.BytesIO(b"\0" * size))
                for name, item in sorted(self.files.items()):
                    self._member(tar, f"{root}/{name}", item)
            else:
                name = posixpath.basename(path)
                if posixpath.dirname(path) != self.dest or name not in self.files:
                    raise NotFound(f"no such file {path}")
                self._member(tar, name, self.files[name])
        return buffer.getvalue()

    def get_archive(self, path: str, chunk_size: int = 2048):
        data = self.archive_bytes(path)
        return (data[i:i + chunk_size] for i in range(0, len(data), chunk_size)), {"name": posixpath.basename(path)}

    def put_archive(self, path: str, data: bytes) -> bool:
        self.calls.append(f"put_archive {path}")
        self._engine()
        assert path == self.dest
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar:
                item = {"mode": member.mode, "uid": member.uid, "gid": member.gid, "linkname": member.linkname,
                        "kind": "symlink" if member.issym() else "file", "data": b""}
                if member.isreg():
                    item["data"] = tar.extractfile(member).read()
                self.files[member.name] = item
        return True

    def exec_run(self, cmd, user: str = ""):
        self.calls.append("exec " + " ".join(cmd))
        self._engine()
        if not self.live["Running"]:  # as the engine: exec needs a running container
            raise APIError(f"409 Client Error: Conflict: container {self.id} is not running")
        assert cmd[:3] == ["rm", "-f", "--"]
        for path in cmd[3:]:
            self.files.pop(posixpath.basename(path), None)
        return ExecResult(0, b"")

    # -- lifecycle ----------------------------------------------------
    @property
    def status(self) -> str:
        return self.attrs["State"]["Status"]

    def _engine(self) -> None:
        if self.engine_down:
            raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")

    def restart(self, timeout: int = 10) -> None:
        self.calls.append("restart")
        self._engine()
        if self.fail_restarts:
            self.fail_restarts -= 1
            raise ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out. (read timeout=60)")
        self.restarts += 1
        main = self.files.get("main.py", {}).get("data", b"")
        broken = b"BROKEN" in main
        # As the SDK: restart() does not refresh attrs; only get() and reload() do.
        self.live.update(StartedAt=f"2025-06-01T10:00:{self.restarts:02d}.000000000Z", Running=not broken,
                         ExitCode=1 if broken else 0, Status="exited" if broken else "running")
        self.log += b"Traceback: deliberately broken\n" if broken else b"restarted fine\n"
        if self.service:
            self.service.mode = "down" if broken else ("garble" if b"GARBLE" in main else "ok")
            self.service.stock = b"stock" in main
        if self.on_restart:
            self.on_restart(self)

    def reload(self) -> None:
        self.calls.append("reload")
        self._engine()
        self.inspect()

    def inspect(self) -> None:
        """What a fresh ``containers.get`` (or ``reload``) reads from the engine."""
        self.attrs["State"] = dict(self.live)

    def stopped(self, exit_code: int) -> None:
        """The engine stopped the container (a dockerd restart, an OOM kill)."""
        self.live.update(Running=False, ExitCode=exit_code, Status="exited")

    def logs(self, **kwargs) -> bytes:
        self._engine()  # a plain HTTP GET in the SDK: requests' errors, not DockerException
        return self.log


class FakeResponse:
    """A streamed engine answer: ``raw.read`` in chunks, ``close`` recorded."""

    def __init__(self, data: bytes, box: "FakeContainer") -> None:
        self.raw = io.BytesIO(data)
        self.box = box
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.box.open_streams -= 1


class FakeAPI:
    """The low-level calls the archive reader makes: a streamed GET it can close."""

    def __init__(self, container: "FakeContainer") -> None:
        self.container = container

    def _url(self, pathfmt: str, *args: str) -> str:
        return pathfmt.format(*args)

    def _get(self, url: str, params: dict, stream: bool, headers: dict) -> FakeResponse:
        assert url == f"/containers/{self.container.id}/archive" and stream
        data = self.container.archive_bytes(params["path"])
        self.container.open_streams += 1
        return FakeResponse(data, self.container)

    def _raise_for_status(self, response: FakeResponse) -> None:
        pass


class FakeClient:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.api = FakeAPI(container)
        outer = self

        class Containers:
            def get(self, name: str) -> FakeContainer:
                outer.container._engine()
                if name != outer.container.name:
                    raise NotFound(f"No such container: {name}")
                outer.container.inspect()
                return outer.container

        self.containers = Containers()


class FakeService:
    """A real HTTP server: /ready and an OpenAI-style transcription endpoint."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | garble | down
        self.stock = False  # the stock server has no /health/ready (404)
        self.transcriptions = 0
        self.transcript = REFERENCE  # what mode "ok" answers
        self.not_found: set[str] = set()  # paths without a route
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path in service.not_found:
                    self._send(404, {"detail": "Not Found"})
                    return
                if service.stock and self.path == "/health/ready":
                    self._send(404, {"detail": "Not Found"})
                    return
                ready = service.mode != "down"
                self._send(200 if ready else 503, {"ready": ready})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.transcriptions += 1
                if service.mode == "down":
                    self._send(503, {"error": "down"})
                    return
                text = service.transcript if service.mode == "ok" else "purple monkey dishwasher"
                self._send(200, {"text": text})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
