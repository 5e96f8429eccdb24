# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for speech_patch: read the overlay on the controller, send only what differs.

The overlay (and the verify audio) live on the controller; the module runs
on the audio host. Their bytes travel base64-encoded inside the module
arguments, but digests first: the first module call gets each file's name,
mode, sha256 and size, compares them with the container and answers either
with the result (nothing to write: the common no-op is one small call) or
with the names whose bytes it needs (and whether it needs the verify clip:
only a run that restarts or checks the server does); only then a second
call carries those bytes and the clip (still one upload and one restart in
the container). The module never reads verify.audio on the managed host
unless remote_src=true. The bytes are dropped from the ``invocation`` the
task reports. The whole run holds the per-host lock audio_health takes, so
a reapply and a health run (or two reapplies) never send audio to one GPU
host at once.
"""
from __future__ import annotations

import base64
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.validation import check_type_list, check_type_str
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    DEFAULT_EXCLUDES, MAX_FILE_SIZE, OverlaySourceError, load_dir, load_list, normalize_entries, to_wire)
from ansible_collections.spark_control.audio.plugins.plugin_utils._host_lock import task_lock
from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module

MODULE = "spark_control.audio.speech_patch"


def _int_option(args: dict[str, Any], name: str, default: Any) -> Any:
    value = args.get(name, default)
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise OverlaySourceError(f"{name}={value!r} is not a number") from None


def _list_option(args: dict[str, Any], name: str, default: Any = None) -> Any:
    """``name`` read as the module's ``type: list`` reads it (a string is split at commas), so both sides agree."""
    value = args.get(name)
    if value is None:
        return default
    try:
        return check_type_list(value)
    except TypeError:
        raise OverlaySourceError(f"{name} must be a list (or a comma-separated string), got {value!r}") from None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _overlay(self, args: dict[str, Any], max_size: int) -> list[Any] | None:
        """The overlay read on the controller, or None when the module reads it (state=absent, remote_src)."""
        if args.get("state", "present") != "present" or (args.get("src") and args.get("files")):
            return None  # the module says what is wrong with the options
        if args.get("src"):
            try:
                path = self._find_needle("files", args["src"])
            except AnsibleError:
                raise OverlaySourceError(
                    f"overlay source folder {args['src']} does not exist on the controller (searched the "
                    "role's and the playbook's files/ folders too)") from None
            exclude = [check_type_str(p, allow_conversion=True)
                       for p in _list_option(args, "exclude", list(DEFAULT_EXCLUDES))]  # elements: str
            return load_dir(path, exclude, max_size)
        files = _list_option(args, "files")
        if files:
            entries = []
            for entry in normalize_entries(files):
                try:
                    entry["src"] = self._find_needle("files", entry["src"])
                except AnsibleError:
                    raise OverlaySourceError(f"overlay file {entry['src']} does not exist on the controller") from None
                entries.append(entry)
            return load_list(entries, max_size)
        return None

    def _verify_audio(self, args: dict[str, Any], max_size: int) -> str | None:
        verify = args.get("verify")
        if not (isinstance(verify, dict) and verify.get("audio")):
            return None
        try:
            path = self._find_needle("files", verify["audio"])
            with open(path, "rb") as handle:
                data = handle.read(max_size + 1)
        except (AnsibleError, OSError):
            raise OverlaySourceError(f"verify.audio {verify['audio']} cannot be read on the controller") from None
        if len(data) > max_size:
            raise OverlaySourceError(f"verify.audio {verify['audio']} is more than max_file_size ({max_size} bytes): "
                                     "give a short clip of a few sentences")
        return base64.b64encode(data).decode("ascii")

    def _call(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        result = execute_host_module(self, MODULE, args, task_vars)
        shown = result.get("invocation", {}).get("module_args")
        if isinstance(shown, dict):
            if shown.get("_overlay"):
                shown["_overlay"] = [{k: f[k] for k in ("name", "sha256", "size")} for f in shown["_overlay"]]
            if shown.get("_verify_audio"):
                shown["_verify_audio"] = f"({len(shown['_verify_audio']) * 3 // 4} bytes, base64 in transfer)"
        return result

    def _run_module(self, args: dict[str, Any], task_vars: dict[str, Any], max_size: int) -> dict[str, Any]:
        files = None
        if not boolean(args.get("remote_src", False), strict=False):
            files = self._overlay(args, max_size)
            audio = self._verify_audio(args, max_size)
            verify = args.get("verify")
            always = isinstance(verify, dict) and verify.get("when") == "always"
            if files is not None:
                args["_overlay"] = to_wire(files)
            if audio is not None and (always or files is None):
                args["_verify_audio"] = audio  # needed by this call; otherwise only when the module asks
        first = self._call(args, task_vars)
        if files is None or "needs_content" not in first:
            return first
        # Something differs, or the server is restarted: send the bytes of those files and the clip that checks it.
        args["_overlay"] = to_wire(files, first["needs_content"])
        if audio is not None:
            args["_verify_audio"] = audio
        second = self._call(args, task_vars)
        if "needs_content" in second:  # the module wrote nothing: it still lacks bytes of files that changed since
            return {"failed": True, "changed": bool(first.get("repaired")), "container": second.get("container"),
                    "msg": f"the files of {second.get('container')} changed while this task ran (now "
                           f"{', '.join(second['needs_content']) or 'the verify clip'} also differ): nothing was "
                           "written; run again once nothing else patches the container"}
        earlier = [f"(first pass) {note}" for note in first.get("notes", [])]
        if earlier:
            second["warnings"] = earlier + list(second.get("warnings", []))
        if first.get("repaired"):
            second.setdefault("repaired", True)
            second["changed"] = True
        return second

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        lock_args = {key: args.pop(key) for key in LOCK_ARGUMENT_SPEC if key in args}
        try:
            max_size = _int_option(args, "max_file_size", MAX_FILE_SIZE)
            args["_max_diff_size"] = int(C.MAX_FILE_SIZE_FOR_DIFF)
            with task_lock(lock_args, task_vars) as held:
                module_result = self._run_module(args, task_vars, max_size)
        except CollectionError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        result.update(module_result, **held)
        return result
