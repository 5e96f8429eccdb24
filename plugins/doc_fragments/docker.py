# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # How a module reaches the audio host's Docker engine (module_utils/_docker.py).
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - URL of the Docker engine API on the managed host, for example V(unix:///var/run/docker.sock)
        or V(tcp://127.0.0.1:2375).
      - When not set, the E(DOCKER_HOST) environment variable of the module is used, then the local socket
        V(unix:///var/run/docker.sock).
    type: str
    aliases:
      - docker_url
  docker_tls_verify:
    description:
      - Talk TLS to the engine and verify its certificate against C(ca.pem) in O(docker_cert_path).
      - When not set, the E(DOCKER_TLS_VERIFY) environment variable of the module is used, as the Docker CLI and
        the SDK's C(docker.from_env()) do.
    type: bool
  docker_cert_path:
    description:
      - Folder on the managed host with C(ca.pem), C(cert.pem) and C(key.pem) for a TLS connection to the engine.
      - When not set, the E(DOCKER_CERT_PATH) environment variable of the module is used.
    type: path
  api_version:
    description:
      - Docker API version to speak; V(auto) asks the engine.
    type: str
    default: auto
    aliases:
      - docker_api_version
  docker_timeout:
    description:
      - Seconds to wait for one answer of the Docker API.
    type: int
    default: 60
requirements:
  - The L(Docker SDK for Python,https://docker-py.readthedocs.io/) (C(docker)) for the Python interpreter that runs
    the module on the managed host; C(playbooks/prepare_audio_hosts.yml) installs it in the audio-host virtualenv.
"""
