"""container_pip's package sources: checked, and their credentials kept out of argv, output and records."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import sys

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip import container
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import (
    SourceError, check, index_args, recorded, redact, secrets, split_credentials,
)

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import Reply, ScriptedServer


def test_credentials_leave_the_urls_for_a_netrc_file():
    clean, creds = split_credentials({"index_url": "http://ci:pa%40ss@127.0.0.1:8570/simple/",
                                      "extra_index_urls": ["http://127.0.0.1:8571/simple/"],
                                      "find_links": ["/tmp/wheels"]})
    assert clean["index_url"] == "http://127.0.0.1:8570/simple/"
    assert clean["extra_index_urls"] == ["http://127.0.0.1:8571/simple/"] and clean["find_links"] == ["/tmp/wheels"]
    assert creds.by_host == {"127.0.0.1": ("ci", "pa@ss")} and creds.options == ["index_url"]
    assert creds.netrc() == "machine 127.0.0.1 login ci password pa@ss\n"
    assert "pa" not in " ".join(index_args(clean, 2, 15))


def test_secrets_and_redaction():
    sources = {"index_url": "https://ci:pa%40ss@pypi.example.internal/simple/"}
    assert secrets(sources) == {"pa%40ss", "pa@ss"}
    assert redact("see https://ci:pa%40ss@pypi.example.internal/simple/ now") == \
        "see https://********@pypi.example.internal/simple/ now"
    assert recorded(sources) == {"index_url": "https://pypi.example.internal/simple/",
                                 "credentials_not_recorded": ["index_url"]}


BAD_SOURCES = {
    "index_url not a URL": (
        {"index_url": "pypi.example.internal/simple"},
        "index_url 'pypi.example.internal/simple' is not an http://, https:// or file:// URL with a host: give e.g. "
        "https://pypi.example.internal/simple/"),
    "index_url of another scheme, credentials masked": (
        {"index_url": "ftp://ci:hunter2@mirror.example.internal/"},
        "index_url 'ftp://********@mirror.example.internal/' is not an http://, https:// or file:// URL with a "
        "host"),
    "index_url with a port that is no number, credentials masked": (
        {"index_url": "http://ci:hunter2@127.0.0.1:port/simple/"},
        "index_url 'http://********@127.0.0.1:port/simple/' is not a valid URL (Port could not be cast to integer "
        "value as 'port')"),
    "extra index without a host": (
        {"extra_index_urls": ["http:///simple/"]},
        "extra_index_urls[0] 'http:///simple/' is not an http://, https:// or file:// URL with a host"),
    "find_links relative": (
        {"find_links": ["wheels"]},
        "find_links[0] 'wheels' is neither an absolute folder inside the container nor a URL: give e.g. /tmp/wheels "
        "or https://wheels.example.internal/"),
    "trusted host with a scheme": (
        {"trusted_hosts": ["http://127.0.0.1:8570"]},
        "trusted_hosts[0] 'http://127.0.0.1:8570' is not a host name: give host or host:port, as pip's "
        "--trusted-host takes it (no scheme, no path)"),
    "no_index without find_links": (
        {"no_index": True}, "no_index=true ignores every index, so find_links must say where the packages are"),
    "no_index with an index": (
        {"no_index": True, "find_links": ["/w"], "index_url": "http://127.0.0.1/simple/"},
        "no_index=true ignores index_url and extra_index_urls: drop one or the other"),
}


@pytest.mark.parametrize("case", list(BAD_SOURCES))
def test_bad_sources_are_named(case):
    sources, message = BAD_SOURCES[case]
    with pytest.raises(SourceError) as info:
        check(sources)
    assert message in str(info.value)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("sources, message", [
    ({"index_url": "https://TOKEN@pypi.example.internal/simple/"},
     "index_url: a user name without a password cannot be passed to pip outside the URL: give the token as the "
     "password (https://__token__:TOKEN@host/...)"),
    ({"index_url": "https://a:one@h.internal/", "extra_index_urls": ["https://b:two@h.internal/x/"]},
     "extra_index_urls[0] carries other credentials for h.internal than an earlier source option: pip can use one "
     "login per host"),
    ({"index_url": "https://a:with%20space@h.internal/"},
     "index_url: the user name or password has white space (or starts with #), which pip cannot be given outside "
     "the URL: use a token without them"),
])
def test_credentials_pip_cannot_take_outside_the_url(sources, message):
    with pytest.raises(SourceError) as info:
        split_credentials(sources)
    assert str(info.value) == message


def test_probe_connects_to_the_host_never_to_user_password_at_host(tmp_path, monkeypatch):
    """The probe runs in the container; here its script runs in-process, with DNS look-ups recorded."""
    looked_up = []
    real = socket.getaddrinfo

    def recording(host, *args, **kwargs):
        looked_up.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ci password pa@ss\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with ScriptedServer({"GET /simple/": Reply(200, {})}) as srv:
        port = srv.url.rsplit(":", 1)[1]
        # pip prints the index it looked in with the password masked: that is what the probe gets.
        url = f"http://ci:****@127.0.0.1:{port}/simple/"
        monkeypatch.setattr(sys, "argv", ["probe", url])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(container._PROBE, "probe", "exec"), {})
    assert json.loads(out.getvalue()) == {url: None}
    assert looked_up and set(looked_up) == {"127.0.0.1"}
    assert srv.requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(b"ci:pa@ss").decode()
