# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pip_index_env filter: pip's index options as environment variables (docs in pip_index_env.yml)."""
from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.spark_control.audio.plugins.plugin_utils import _pip_env


def pip_index_env(index_url: Any, extra_index_urls: Any = None, trusted_hosts: Any = None) -> dict[str, str]:
    try:
        return _pip_env.index_env(index_url, extra_index_urls, trusted_hosts)
    except _pip_env.PipEnvError as exc:
        raise AnsibleFilterError(f"pip_index_env: {exc}") from None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"pip_index_env": pip_index_env}
