# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where container_pip's packages come from: index URLs, find-links, trusted hosts, and their credentials.

Private to this collection. The source options are checked here (URLs are
split with ``urllib.parse``: a host is a host, never ``user:password@host``)
and their credentials are kept apart from everything that is shown or
stored:

* pip gets the URLs without credentials on its command line (which any user
  of the host can read with ``ps``) and the credentials in a netrc file in
  the run's scratch folder of the container (mode 0600, removed afterwards),
  named by ``NETRC`` in the exec environment: pip's HTTP session reads it for
  the index host, and so does the reachability probe;
* ``secrets()`` gives the strings the module adds to ``no_log_values``, so
  Ansible masks them in every message, result and the reported invocation;
* ``recorded()`` is what the package manifest keeps: the URLs without
  credentials and the names of the options that carried some (a reinstall
  must be given them again).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

SOURCE_KEYS = ("index_url", "extra_index_urls", "find_links", "no_index", "trusted_hosts")
URL_KEYS = ("index_url", "extra_index_urls", "find_links")
# The manifest's note of which options carried credentials (never the credentials themselves).
CREDENTIALS_KEY = "credentials_not_recorded"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$")


class SourceError(CollectionError):
    """A source option is malformed; the message names it (credentials masked)."""


@dataclass(frozen=True)
class Credentials:
    """What pip needs for one host, from the source options' URLs."""

    by_host: dict[str, tuple[str, str]]  # host name -> (login, password)
    options: list[str]                   # the options whose URL carried credentials

    def netrc(self) -> str:
        """A netrc file for pip's session (and the probe). Tokens go unquoted: before Python 3.11 the netrc
        module takes quotes literally (split_credentials refuses what that cannot carry)."""
        lines = [f"machine {host} login {login} password {password}"
                 for host, (login, password) in sorted(self.by_host.items())]
        return "\n".join(lines) + "\n"


def _netrc_safe(value: str) -> bool:
    return not value.startswith("#") and not any(ch.isspace() for ch in value)


def redact(text: str) -> str:
    """``scheme://user:password@host`` -> ``scheme://********@host`` in any text (for URLs we show)."""
    return _USERINFO.sub("********@", text)


def sources_from(params: dict[str, Any]) -> dict[str, Any]:
    """The package source options that are set (index, extra indexes, find-links...)."""
    return {key: params[key] for key in SOURCE_KEYS if params.get(key)}


def _locations(sources: dict[str, Any]) -> list[tuple[str, str]]:
    """(option name for messages, value) of every URL-like source option."""
    found = []
    if sources.get("index_url"):
        found.append(("index_url", sources["index_url"]))
    for key in ("extra_index_urls", "find_links"):
        found += [(f"{key}[{i}]", value) for i, value in enumerate(sources.get(key) or [])]
    return found


def describe(sources: dict[str, Any]) -> str:
    """The source options in a few words for a message (credentials masked)."""
    where = [f"{name} {redact(str(value))}" for name, value in _locations(sources)]
    if sources.get("no_index"):
        where.insert(0, "no_index")
    return ", ".join(where) or "pip's default index"


def _split(name: str, value: str) -> Any:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise SourceError(f"{name} {redact(value)!r} is not a valid URL ({exc})") from None
    return parts


def check(sources: dict[str, Any]) -> None:
    """Refuse malformed source options, naming the option and what is expected."""
    for name, value in _locations(sources):
        parts = _split(name, value)
        if name.startswith("find_links") and not parts.scheme:
            if not value.startswith("/"):
                raise SourceError(f"{name} {value!r} is neither an absolute folder inside the container nor a URL: "
                                  "give e.g. /tmp/wheels or https://wheels.example.internal/")
            continue
        if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.hostname):
            raise SourceError(f"{name} {redact(value)!r} is not an http://, https:// or file:// URL with a host: "
                              "give e.g. https://pypi.example.internal/simple/")
    for index, host in enumerate(sources.get("trusted_hosts") or []):
        if not _HOST.match(host or ""):
            raise SourceError(f"trusted_hosts[{index}] {host!r} is not a host name: give host or host:port, as "
                              "pip's --trusted-host takes it (no scheme, no path)")
    if sources.get("no_index") and not sources.get("find_links"):
        raise SourceError("no_index=true ignores every index, so find_links must say where the packages are")
    if sources.get("no_index") and (sources.get("index_url") or sources.get("extra_index_urls")):
        raise SourceError("no_index=true ignores index_url and extra_index_urls: drop one or the other")
    split_credentials(sources)  # credentials pip cannot be given outside the URL are refused up front too


def split_credentials(sources: dict[str, Any]) -> tuple[dict[str, Any], Credentials]:
    """The options with every URL stripped of its credentials, and the credentials by host."""
    clean = dict(sources)
    by_host: dict[str, tuple[str, str]] = {}
    options = []
    for key in URL_KEYS:
        values = sources.get(key)
        if not values:
            continue
        stripped = []
        for index, value in enumerate(values if isinstance(values, list) else [values]):
            name = key if key == "index_url" else f"{key}[{index}]"
            parts = _split(name, value)
            if parts.username is None:
                stripped.append(value)
                continue
            login, password = unquote(parts.username), unquote(parts.password or "")
            if not password:
                # netrc has no empty password that every Python reads the same way.
                raise SourceError(f"{name}: a user name without a password cannot be passed to pip outside the URL: "
                                  "give the token as the password (https://__token__:TOKEN@host/...)")
            host = parts.hostname or ""
            if not (_netrc_safe(login) and _netrc_safe(password)):
                raise SourceError(f"{name}: the user name or password has white space (or starts with #), which pip "
                                  "cannot be given outside the URL: use a token without them")
            if by_host.get(host, (login, password)) != (login, password):
                raise SourceError(f"{name} carries other credentials for {host} than an earlier source option: "
                                  "pip can use one login per host")
            by_host[host] = (login, password)
            options.append(name)
            netloc = parts.netloc.rsplit("@", 1)[1]
            stripped.append(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
        clean[key] = stripped[0] if key == "index_url" else stripped
    return clean, Credentials(by_host, options)


def secrets(sources: dict[str, Any]) -> set[str]:
    """Strings to mask in everything the module returns: each password, or a token given as the user name."""
    found: set[str] = set()
    for name, value in _locations(sources):
        try:
            parts = urlsplit(value)
        except ValueError:
            continue
        secret = parts.password if parts.password is not None else parts.username
        if secret:
            found |= {secret, unquote(secret)}
    return found


def recorded(sources: dict[str, Any]) -> dict[str, Any]:
    """The sources as the manifest keeps them: no credentials, but which options needed some."""
    clean, credentials = split_credentials(sources)
    if credentials.options:
        clean[CREDENTIALS_KEY] = credentials.options
    return clean


def index_args(sources: dict[str, Any], retries: int, network_timeout: int) -> list[str]:
    """pip options for where packages come from (URLs as given: strip credentials first) and how patiently."""
    args: list[str] = []
    if sources.get("no_index"):
        args.append("--no-index")
    if sources.get("index_url"):
        args += ["--index-url", sources["index_url"]]
    for url in sources.get("extra_index_urls") or []:
        args += ["--extra-index-url", url]
    for location in sources.get("find_links") or []:
        args += ["--find-links", location]
    for host in sources.get("trusted_hosts") or []:
        args += ["--trusted-host", host]
    return args + ["--retries", str(retries), "--timeout", str(network_timeout)]
