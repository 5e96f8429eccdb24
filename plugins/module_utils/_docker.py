# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker engine access through the ``docker`` SDK, with clear errors.

Private to this collection. Modules that talk to the audio host's Docker
engine share the options in ``DOCKER_ARGUMENT_SPEC`` (documented by the
``spark_control.audio.docker`` doc fragment) and use:

* ``connect(params)`` -> ``docker.DockerClient``;
* ``running_container(client, name)`` -> ``docker.models.containers.Container``.

Both raise ``DockerAccessError`` whose message says what is wrong and what to
do, so a module can ``fail_json(msg=str(exc))`` without a traceback.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound

    HAS_DOCKER_SDK = True
except ImportError:  # the host's Python lacks the SDK: reported by connect()
    docker = None
    HAS_DOCKER_SDK = False

    # Stand-ins so that except clauses elsewhere stay valid; never raised.
    class DockerException(Exception):  # type: ignore[no-redef]
        """docker.errors.DockerException stand-in."""

    class APIError(DockerException):  # type: ignore[no-redef]
        """docker.errors.APIError stand-in."""

    class NotFound(APIError):  # type: ignore[no-redef]
        """docker.errors.NotFound stand-in."""

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

DOCKER_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str", "aliases": ["docker_url"]},
    "api_version": {"type": "str", "default": "auto", "aliases": ["docker_api_version"]},
    "docker_timeout": {"type": "int", "default": 60},
}


class DockerAccessError(CollectionError):
    """The Docker engine or a container cannot be used; the message says why."""


def missing_sdk_message() -> str:
    return (
        f"the Python 'docker' SDK is not installed for {sys.executable} on this host: "
        "install requirements/runtime.txt there (pip install docker==7.2.0), or point "
        "ansible_python_interpreter at a Python that has it"
    )


def connect(params: dict[str, Any]) -> Any:
    """Open and check a client for the engine named by the module's options.

    ``docker_host`` falls back to ``$DOCKER_HOST``, then the local socket.
    """
    if not HAS_DOCKER_SDK:
        raise DockerAccessError(missing_sdk_message())
    url = params.get("docker_host") or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    try:
        client = docker.DockerClient(
            base_url=url,
            version=params.get("api_version") or "auto",
            timeout=params.get("docker_timeout") or 60,
        )
        client.ping()
    except DockerException as exc:
        raise DockerAccessError(
            f"cannot reach the Docker engine at {url} ({describe(exc)}): is dockerd running, "
            "and may this user open its socket? Set docker_host if the engine listens elsewhere"
        ) from None
    return client


def running_container(client: Any, name: str) -> Any:
    """The container called ``name`` (or with that id); it must be running."""
    try:
        container = client.containers.get(name)
    except NotFound:
        raise DockerAccessError(
            f"container {name!r} does not exist on this Docker engine: check the container "
            "name (docker ps -a) or create it first"
        ) from None
    except DockerException as exc:
        raise DockerAccessError(f"cannot inspect container {name!r}: {describe(exc)}") from None
    state = container.attrs.get("State", {})
    if not state.get("Running") or state.get("Restarting"):
        raise DockerAccessError(
            f"container {name!r} is not running (status {container.status!r}, exit code "
            f"{state.get('ExitCode')}): start it (docker start {name}) and run again"
        )
    return container


def log_tail(container: Any, lines: int = 40, since: float | None = None) -> str:
    """The last ``lines`` lines of the container's output (only those written
    after the unix time ``since``, if given), never raising."""
    try:
        extra = {"since": int(since)} if since else {}
        return container.logs(tail=lines, stdout=True, stderr=True, **extra).decode("utf-8", "replace")
    except DockerException as exc:
        return f"(could not read the container logs: {describe(exc)})"


def describe(exc: BaseException) -> str:
    """A one-line description of a Docker SDK error."""
    if isinstance(exc, APIError) and getattr(exc, "explanation", None):
        return str(exc.explanation)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
