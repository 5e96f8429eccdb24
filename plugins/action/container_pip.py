# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for container_pip: the module as is, plus the one-line
failure for an audio host that was never prepared (plugin_utils/_unprepared)."""
from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module

MODULE = "spark_control.audio.container_pip"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        result.update(execute_host_module(self, MODULE, dict(self._task.args), task_vars or {}))
        return result
