# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options that say how a module reaches the Docker engine (the ``docker`` doc fragment).

Private to this collection. ``_docker`` connects with them; they live apart
from it so that action plugins can validate a module's options on the
controller without importing the Docker SDK. Standard library only.
"""
from __future__ import annotations

from typing import Any

DOCKER_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "docker_host": {"type": "str", "aliases": ["docker_url"]},
    "docker_tls_verify": {"type": "bool"},
    "docker_cert_path": {"type": "path"},
    "api_version": {"type": "str", "default": "auto", "aliases": ["docker_api_version"]},
    "docker_timeout": {"type": "int", "default": 60},
}
