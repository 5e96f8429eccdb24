# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pip's index options as its environment variables: the collection's one builder of them.

Private to this collection (controller side). Used by the wheelhouse action
(the controller's pip) and, through the ``pip_index_env`` filter, by the
audio_host role (the host's pip). An index URL may carry a login: any user
of a machine can read a process's arguments (``ps``) and a task's argv shows
in its result, while only the process's owner can read its environment, and
pip masks the login in what it prints.
"""
from __future__ import annotations

from typing import Any, Sequence

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError


class PipEnvError(CollectionError):
    """An index option of the wrong shape; the message names it (never its value, which may hold a token)."""


def _strings(value: Any, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise PipEnvError(f"{name} must be a list of strings, got {type(value).__name__}: give one item per "
                          "index (or host), for example ['https://mirror.example/simple']")
    items = [item.strip() if isinstance(item, str) else None for item in value]
    for index, item in enumerate(items):
        if not item or len(item.split()) != 1:
            raise PipEnvError(f"{name}[{index}] must be a non-empty string without spaces (pip splits these "
                              "variables on whitespace)")
    return items


def index_env(index_url: str | None, extra_index_urls: Sequence[str] | None = (),
              trusted_hosts: Sequence[str] | None = ()) -> dict[str, str]:
    """PIP_INDEX_URL, PIP_EXTRA_INDEX_URL and PIP_TRUSTED_HOST for what is given; {} for none of them."""
    if index_url is not None and not isinstance(index_url, str):
        raise PipEnvError(f"index_url must be a string (one URL), got {type(index_url).__name__}")
    env = {"PIP_INDEX_URL": index_url.strip()} if index_url and index_url.strip() else {}
    extra = _strings(extra_index_urls, "extra_index_urls")
    if extra:
        env["PIP_EXTRA_INDEX_URL"] = " ".join(extra)
    hosts = _strings(trusted_hosts, "trusted_hosts")
    if hosts:
        env["PIP_TRUSTED_HOST"] = " ".join(hosts)
    return env
