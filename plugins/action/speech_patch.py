# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for speech_patch: read the overlay on the controller.

The overlay (and the verify audio) live on the controller; the module runs
on the audio host. Rather than one file transfer per file, their bytes
travel base64-encoded inside the module arguments, so a run costs one module
execution whatever the number of files. The bytes are dropped from the
``invocation`` the task reports.
"""
from __future__ import annotations

import base64
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    DEFAULT_EXCLUDES, OverlaySourceError, load_dir, load_list, normalize_entries, to_wire)
from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module

MODULE = "spark_control.audio.speech_patch"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _controller_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Add the controller's files to the module arguments."""
        if args.get("state", "present") == "present" and not (args.get("src") and args.get("files")):
            if args.get("src"):
                try:
                    path = self._find_needle("files", args["src"])
                except AnsibleError:
                    raise OverlaySourceError(
                        f"overlay source folder {args['src']} does not exist on the controller (searched the "
                        "role's and the playbook's files/ folders too)") from None
                files = load_dir(path, args.get("exclude") or DEFAULT_EXCLUDES)
            elif args.get("files"):
                entries = []
                for entry in normalize_entries(args["files"]):
                    try:
                        entry["src"] = self._find_needle("files", entry["src"])
                    except AnsibleError:
                        raise OverlaySourceError(f"overlay file {entry['src']} does not exist on the controller") from None
                    entries.append(entry)
                files = load_list(entries)
            else:
                files = None
            if files is not None:
                args["_overlay"] = to_wire(files)
        verify = args.get("verify")
        if isinstance(verify, dict) and verify.get("audio"):
            try:
                path = self._find_needle("files", verify["audio"])
                with open(path, "rb") as handle:
                    args["_verify_audio"] = base64.b64encode(handle.read()).decode("ascii")
            except (AnsibleError, OSError):
                raise OverlaySourceError(f"verify.audio {verify['audio']} cannot be read on the controller") from None
        return args

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        try:
            if not boolean(args.get("remote_src", False), strict=False):
                args = self._controller_args(args)
        except OverlaySourceError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        args["_max_diff_size"] = int(C.MAX_FILE_SIZE_FOR_DIFF)
        module_result = execute_host_module(self, MODULE, args, task_vars or {})
        shown = module_result.get("invocation", {}).get("module_args")
        if isinstance(shown, dict):
            if shown.get("_overlay"):
                shown["_overlay"] = [{k: f[k] for k in ("name", "sha256", "size")} for f in shown["_overlay"]]
            if shown.get("_verify_audio"):
                shown["_verify_audio"] = f"({len(args['_verify_audio']) * 3 // 4} bytes, base64 in transfer)"
        result.update(module_result)
        return result
