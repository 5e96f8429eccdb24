# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker engine access through the ``docker`` SDK, with clear errors.

Private to this collection. Modules that talk to the audio host's Docker
engine share the options in ``_docker_options.DOCKER_ARGUMENT_SPEC``
(documented by the ``spark_control.audio.docker`` doc fragment) and use:

* ``connect(params)`` -> ``docker.DockerClient``: the SDK's own environment
  handling (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``, as
  ``docker.from_env()`` reads them), with the module's options taking
  precedence over the variables;
* ``find_container(client, name)`` -> ``docker.models.containers.Container``,
  ``require_running(container, name)``, and both at once:
  ``running_container(client, name)``.

Both raise ``DockerAccessError`` whose message says what is wrong and what to
do, so a module can ``fail_json(msg=str(exc))`` without a traceback.
"""
from __future__ import annotations

import os
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
    from docker.utils import kwargs_from_env

    HAS_DOCKER_SDK = True
except ImportError as exc:  # the host's Python lacks the SDK: the module says so first
    docker = None
    HAS_DOCKER_SDK = False
    _deps.missing("docker", exc)

    # Stand-ins so that except clauses elsewhere stay valid; never raised.
    class DockerException(Exception):  # type: ignore[no-redef]
        """docker.errors.DockerException stand-in."""

    class APIError(DockerException):  # type: ignore[no-redef]
        """docker.errors.APIError stand-in."""

    class NotFound(APIError):  # type: ignore[no-redef]
        """docker.errors.NotFound stand-in."""


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class DockerAccessError(CollectionError):
    """The Docker engine or a container cannot be used; the message says why."""


def client_environment(params: dict[str, Any], environ: dict[str, str] | None = None) -> dict[str, str]:
    """The DOCKER_* variables the SDK reads, with the module's options put over the process environment."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k.startswith("DOCKER_")}
    if params.get("docker_host"):
        env["DOCKER_HOST"] = params["docker_host"]
    if params.get("docker_tls_verify") is not None:
        env["DOCKER_TLS_VERIFY"] = "1" if params["docker_tls_verify"] else ""
    if params.get("docker_cert_path"):
        env["DOCKER_CERT_PATH"] = params["docker_cert_path"]
    return env


def connect(params: dict[str, Any]) -> Any:
    """Open and check a client for the engine named by the options and the environment."""
    if not HAS_DOCKER_SDK:
        raise DockerAccessError(_deps.missing_message(["docker"]))
    env = client_environment(params)
    url = env.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    try:
        kwargs = kwargs_from_env(environment=env)
    except DockerException as exc:  # e.g. DOCKER_CERT_PATH without the certificate files
        raise DockerAccessError(f"the Docker TLS settings are unusable ({describe(exc)}): check docker_cert_path "
                                "(or DOCKER_CERT_PATH), which must hold ca.pem, cert.pem and key.pem") from None
    kwargs.setdefault("base_url", DEFAULT_DOCKER_HOST)
    version = params.get("api_version") or "auto"
    try:
        client = docker.DockerClient(version=version, timeout=params.get("docker_timeout") or 60, **kwargs)
        if version != "auto":  # with "auto" the client has asked the engine for its version: it answers
            client.ping()
    except DockerException as exc:
        raise DockerAccessError(
            f"cannot reach the Docker engine at {url} ({describe(exc)}): is dockerd running, "
            "and may this user open its socket? Set docker_host if the engine listens elsewhere"
        ) from None
    return client


def find_container(client: Any, name: str, missing_ok: bool = False) -> Any:
    """The container called ``name`` (or with that id), running or not.

    With ``missing_ok``, a container that does not exist is None instead of an error.
    """
    try:
        return client.containers.get(name)
    except NotFound:
        if missing_ok:
            return None
        raise DockerAccessError(
            f"container {name!r} does not exist on this Docker engine: check the container "
            "name (docker ps -a) or create it first"
        ) from None
    except (DockerException, OSError) as exc:  # OSError: requests' errors while dockerd restarts or hangs
        raise DockerAccessError(f"cannot inspect container {name!r}: {describe(exc)}") from None


def require_running(container: Any, name: str) -> None:
    """Fail unless ``container`` (as last inspected) runs and is not crash-looping."""
    state = container.attrs.get("State", {})
    if not state.get("Running") or state.get("Restarting"):
        raise DockerAccessError(
            f"container {name!r} is not running (status {container.status!r}, exit code "
            f"{state.get('ExitCode')}): start it (docker start {name}) and run again"
        )


def running_container(client: Any, name: str, missing_ok: bool = False) -> Any:
    """The container called ``name`` (or with that id); it must be running.

    With ``missing_ok``, a container that does not exist is None instead of an error.
    """
    container = find_container(client, name, missing_ok)
    if container is not None:
        require_running(container, name)
    return container


def log_tail(container: Any, lines: int = 40, since: float | None = None) -> str:
    """The last ``lines`` lines of the container's output (only those written
    after the unix time ``since``, if given), never raising."""
    try:
        extra = {"since": int(since)} if since else {}
        return container.logs(tail=lines, stdout=True, stderr=True, **extra).decode("utf-8", "replace")
    except (DockerException, OSError) as exc:  # logs() is a plain GET: requests' errors are OSErrors
        return f"(could not read the container logs: {describe(exc)})"


def describe(exc: BaseException) -> str:
    """A one-line description of a Docker SDK error."""
    if isinstance(exc, APIError) and getattr(exc, "explanation", None):
        return str(exc.explanation)
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
