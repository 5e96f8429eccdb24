# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An audio host that was never prepared, said in one line.

Private to this collection (controller side). The inventory points
``ansible_python_interpreter`` at the audio-host virtualenv; on a host where
prepare_audio_hosts.yml never ran that path does not exist, so the module
never starts and Ansible reports a shell error. The action plugins of the
host-side modules turn that result into one line naming the playbook, at no
cost on a prepared host (nothing extra runs; only a failed result is read).
"""
from __future__ import annotations

import re
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._deps import PREPARE

# What /bin/sh (dash, bash) says when the interpreter path is missing.
_NOT_FOUND = re.compile(r"(?P<path>/\S+): (?:\d+: )?(?:No such file or directory|not found|command not found)")


def unprepared(result: dict[str, Any], interpreter: str | None) -> dict[str, Any] | None:
    """The one-line failure for ``result`` if the module's interpreter was missing, else None."""
    if result.get("rc") != 127 or result.get("_ansible_parsed", True):
        return None
    path = (interpreter or "").lstrip("#!").split(" ", 1)[0] or None
    output = f"{result.get('module_stderr', '')}\n{result.get('module_stdout', '')}"
    found = [m.group("path") for m in _NOT_FOUND.finditer(output)]
    if not found or (path and path not in found):
        return None
    path = path or found[0]
    return {
        "failed": True, "changed": False, "unprepared_host": True, "python": path, "rc": 127,
        "msg": (f"this audio host is not prepared: its audio-host Python {path} does not exist. Run {PREPARE} "
                f"(spark_control.audio.prepare_audio_hosts) for this host first; it creates that virtualenv "
                "with the modules' libraries"),
    }


def execute_host_module(action: Any, module: str, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
    """``action._execute_module`` with the unprepared-host failure made one line."""
    result = action._execute_module(module_name=module, module_args=args, task_vars=task_vars)
    hint = unprepared(result, getattr(action, "_used_interpreter", None))
    return hint if hint is not None else result
