# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Python libraries the modules need on the audio host, and what to do when one is missing.

Private to this collection. module_utils files import their third-party
libraries inside ``try``/``except ImportError`` and record a failure with
``missing(name)``, so importing never raises; a module then calls
``check(module)`` first and fails with one line that names the libraries and
the playbook that installs them (prepare_audio_hosts.yml), instead of a
traceback or a bare "No module named docker".
"""
from __future__ import annotations

import sys
from typing import Any

PREPARE = "playbooks/prepare_audio_hosts.yml"
# Named in the message only; the role's argument spec holds the default it uses.
DEFAULT_VENV = "/opt/spark_control/venv"
_MISSING: dict[str, str] = {}


def missing(name: str, error: BaseException | None = None) -> None:
    """Note that the distribution ``name`` could not be imported (and why)."""
    _MISSING[name] = f"{type(error).__name__}: {error}" if error is not None else "not installed"


def missing_message(names: list[str]) -> str:
    return (f"this audio host is not prepared: the Python package(s) {', '.join(names)} are missing for "
            f"{sys.executable}. Run {PREPARE} for this host (it installs requirements/audio-host.txt into the "
            f"audio-host virtualenv, {DEFAULT_VENV} unless spark_audio_venv says otherwise) and point "
            "ansible_python_interpreter at that virtualenv's bin/python (see inventory.example)")


def check(module: Any, *names: str) -> None:
    """Fail the module when any of ``names`` (all recorded ones when none given) is missing."""
    wanted = [n for n in (names or sorted(_MISSING)) if n in _MISSING]
    if wanted:
        module.fail_json(msg=missing_message(wanted), changed=False, missing_libraries=wanted,
                         import_errors={n: _MISSING[n] for n in wanted}, python=sys.executable)
