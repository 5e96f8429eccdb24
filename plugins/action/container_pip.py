# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for container_pip: the module, the one-line failure for an
audio host that was never prepared (plugin_utils/_unprepared), and a cheap
answer for a reinstall with nothing recorded.

``reapply_patches.yml`` asks every container to reinstall what container_pip
recorded for it; most have no manifest. Whether one exists is one shell test
on the host (no Python started there), so those containers cost no module
run; when the test cannot tell (an unreadable folder), the module decides.
The options are validated first, as the module would (argument spec and the
checks it cannot express), so a bad option fails on that shortcut too.
"""
from __future__ import annotations

import shlex
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._pip.manifest import DEFAULT_DIR, nothing_recorded, path_for
from ansible_collections.spark_control.audio.plugins.module_utils._pip.options import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, check_options)
from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module

MODULE = "spark_control.audio.container_pip"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _manifest_state(self, path: str) -> str:
        """present, absent or unknown, for the manifest at ``path`` on the host."""
        if not path.startswith("/"):
            return "unknown"  # "~" or a relative folder: the module resolves it on the host (the shell test cannot)
        folder = shlex.quote(path.rsplit("/", 1)[0] or "/")
        test = (f"if [ -f {shlex.quote(path)} ]; then echo present; elif [ -d {folder} ] && [ ! -x {folder} ]; "
                "then echo unknown; else echo absent; fi")
        done = self._low_level_execute_command(test, sudoable=True)
        answer = (done.get("stdout") or "").strip().splitlines()
        return answer[-1] if done.get("rc") == 0 and answer and answer[-1] in ("present", "absent") else "unknown"

    def _valid(self, result: dict[str, Any]) -> bool:
        """The options pass the module's own checks; if not, ``result`` says why (and the module is not run).

        The validated copy only checks: paths stay as given, since they name files on the audio host."""
        try:
            _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                              mutually_exclusive=MUTUALLY_EXCLUSIVE)
            check_options(params)
        except AnsibleActionFail as exc:  # name the module, not this plugin's Python path
            msg = str(exc).splitlines()[0].replace(f"({self._load_name})", f"({MODULE})")
            result.update(failed=True, changed=False, msg=msg)
            return False
        except CollectionError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return False
        return True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if boolean(args.get("reinstall", False), strict=False):
            if not self._valid(result):
                return result
            # Validated: the container is named. The path stays as given: it names a file on the audio host.
            container = str(args.get("container") or args["name"])
            path = path_for(str(args.get("manifest_dir") or DEFAULT_DIR), container)
            if self._manifest_state(path) == "absent":
                result.update(nothing_recorded(container, path))
                return result
        result.update(execute_host_module(self, MODULE, args, task_vars or {}))
        return result
