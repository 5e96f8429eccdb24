# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for wheelhouse: runs entirely on the controller.

The audio host is air-gapped; the controller is not. So the wheels are
fetched here, for the host's platform (read from the host by the audio_host
role), into a cache folder that later runs reuse. Nothing runs on the host.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.plugin_utils import _pip_env, _wheelhouse

ARGUMENT_SPEC = {
    "requirements": {"type": "path", "required": True},
    "dest": {"type": "path", "required": True},
    "machine": {"type": "str", "required": True, "choices": ["x86_64", "aarch64"]},
    "glibc": {"type": "str", "required": True},
    "python_version": {"type": "str", "required": True},
    "python": {"type": "path"},
    "index_url": {"type": "str"},
    "extra_index_urls": {"type": "list", "elements": "str", "default": []},
    "trusted_hosts": {"type": "list", "elements": "str", "default": []},
    "timeout": {"type": "int", "default": 600},
    "archive": {"type": "bool", "default": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        try:
            _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            result.update(failed=True, changed=False, msg=str(exc).splitlines()[0])
            return result
        if args["timeout"] <= 0:
            result.update(failed=True, changed=False, msg=f"timeout={args['timeout']} must be more than 0 seconds "
                          "(the longest one pip run may take)")
            return result
        target = _wheelhouse.Target(args["machine"], args["glibc"], args["python_version"])
        dest = os.path.join(args["dest"], target.key())
        try:
            with open(args["requirements"], encoding="utf-8") as handle:
                pins = _wheelhouse.parse_pins(handle.read(), args["requirements"])
            wanted = _wheelhouse.missing(pins, dest, target)
            result.update(dest=dest, target=target.describe(), platforms=_wheelhouse.platforms(target),
                          changed=bool(wanted), missing=[str(p) for p in wanted], wheels=[])
            if self._task.check_mode and wanted:
                return result
            if wanted:
                index = _pip_env.index_env(args["index_url"], args["extra_index_urls"], args["trusted_hosts"])
                done = _wheelhouse.build(pins, dest, target, args["python"] or sys.executable, index,
                                         args["timeout"])
                result.update(wheels=done.wheels, fetched=done.fetched, built=done.built)
            else:
                result["wheels"] = self._wheels(pins, dest, target)
            if args["archive"] and not self._task.check_mode:
                result["archive"] = _wheelhouse.archive(dest, result["wheels"])
        except OSError as exc:
            result.update(failed=True, changed=False, msg=f"{exc.filename}: {exc.strerror or exc}")
        except CollectionError as exc:
            result.update(failed=True, msg=str(exc), **exc.result)
        return result

    @staticmethod
    def _wheels(pins: list[_wheelhouse.Pin], dest: str, target: _wheelhouse.Target) -> list[str]:
        names, tags = os.listdir(dest), _wheelhouse.supported_tags(target)
        return [w for w in (_wheelhouse.wheel_for(p, names, tags) for p in pins) if w]
