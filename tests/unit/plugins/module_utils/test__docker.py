"""Docker client set-up: the SDK's own environment variables, the module's options over them."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils import _docker


def test_the_sdk_environment_is_used_when_no_option_is_set():
    env = _docker.client_environment({}, {"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1",
                                          "DOCKER_CERT_PATH": "/certs", "HOME": "/root"})
    assert env == {"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"}


def test_options_win_over_the_environment():
    env = _docker.client_environment({"docker_host": "unix:///run/other.sock", "docker_tls_verify": False},
                                     {"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1"})
    assert env["DOCKER_HOST"] == "unix:///run/other.sock" and not env["DOCKER_TLS_VERIFY"]


def test_tls_without_certificates_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    params = {"docker_host": "tcp://127.0.0.1:9", "docker_tls_verify": True, "docker_cert_path": str(tmp_path)}
    with pytest.raises(_docker.DockerAccessError, match="docker_cert_path"):
        _docker.connect(params)


def test_an_engine_that_does_not_answer_is_a_clear_message(monkeypatch):
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    with pytest.raises(_docker.DockerAccessError, match="cannot reach the Docker engine at tcp://127.0.0.1:9"):
        _docker.connect({"docker_host": "tcp://127.0.0.1:9", "docker_timeout": 2})


def test_log_tail_turns_requests_errors_into_text():
    """The SDK's logs() is a plain GET: a gone or slow engine raises requests' errors, not DockerException."""
    from requests.exceptions import ConnectionError as RequestsConnectionError, ReadTimeout

    class Box:
        def __init__(self, error):
            self.error = error

        def logs(self, **_kw):
            raise self.error

    assert _docker.log_tail(Box(ReadTimeout("Read timed out. (read timeout=60)"))) == (
        "(could not read the container logs: Read timed out. (read timeout=60))")
    assert "Connection aborted" in _docker.log_tail(Box(RequestsConnectionError("('Connection aborted.', ...)")))


def test_finding_a_container_turns_requests_errors_and_a_stopped_container_into_messages():
    from types import SimpleNamespace

    from docker.errors import NotFound
    from requests.exceptions import ConnectionError as RequestsConnectionError

    def client(get):
        return SimpleNamespace(containers=SimpleNamespace(get=get))

    def gone(_name):
        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")

    def missing(_name):
        raise NotFound("no such container")

    with pytest.raises(_docker.DockerAccessError, match="cannot inspect container 'parakeet-asr': .*Connection aborted"):
        _docker.running_container(client(gone), "parakeet-asr")
    assert _docker.running_container(client(missing), "parakeet-asr", missing_ok=True) is None
    stopped = SimpleNamespace(status="exited", attrs={"State": {"Running": False, "ExitCode": 137}})
    with pytest.raises(_docker.DockerAccessError, match=r"'parakeet-asr' is not running \(status 'exited', exit code 137\)"):
        _docker.running_container(client(lambda _name: stopped), "parakeet-asr")
