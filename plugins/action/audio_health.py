# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for audio_health: the controller's half of a health run.

On the controller: take the per-host lock (so two health runs never send
audio to one GPU host at once), read the test audio and the shipped overlay,
and pass them to the module, which probes the services from the audio host
(they bind 127.0.0.1 there). The audio bytes travel base64-encoded inside the
module arguments (one module execution, no extra transfers) and are dropped
from the ``invocation`` the task reports.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import DEFAULT_EXCLUDES, MAX_FILE_SIZE, load_dir
from ansible_collections.spark_control.audio.plugins.plugin_utils._host_lock import default_lock_dir, host_lock, lock_path
from ansible_collections.spark_control.audio.plugins.plugin_utils._unprepared import execute_host_module

MODULE = "spark_control.audio.audio_health"
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_AUDIO = os.path.join(COLLECTION_ROOT, "files", "audio")
SHIPPED_OVERLAY = os.path.join(COLLECTION_ROOT, "files", "parakeet_patches")
DEFAULT_FIXTURES = ("single_speaker.wav", "two_speakers.wav")
DIARIZATION_FIXTURE = "two_speakers.wav"
ACTION_ONLY = (*LOCK_ARGUMENT_SPEC, "overlay_dir")


class ControllerInputError(Exception):
    """A controller-side file is missing or unreadable; the message says which."""


def _sibling(path: str, suffix: str) -> str | None:
    candidate = os.path.splitext(path)[0] + suffix
    return candidate if os.path.isfile(candidate) else None


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def expected_overlay(folder: str) -> dict[str, str]:
    # The files speech_patch would copy from that folder (its default excludes and size limit).
    return {f.name: f.sha256 for f in load_dir(folder, DEFAULT_EXCLUDES, MAX_FILE_SIZE)}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def _find(self, path: str, what: str) -> str:
        try:
            return self._find_needle("files", path)
        except AnsibleError:
            raise ControllerInputError(f"{what} {path} does not exist on the controller (searched the role's and "
                                       "the playbook's files/ folders too)") from None

    def _load(self, path: str, shipped: dict[str, Any]) -> None:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ControllerInputError(f"cannot read test audio {path}: {exc.strerror or exc}") from None
        shipped[path] = {"data": base64.b64encode(data).decode("ascii"), "sha256": hashlib.sha256(data).hexdigest()}

    def _controller_args(self, args: dict[str, Any]) -> dict[str, Any]:
        shipped: dict[str, Any] = {}
        files = args.get("audio_files")
        if files is None:
            files = [{"path": os.path.join(SHIPPED_AUDIO, name)} for name in DEFAULT_FIXTURES]
        if not isinstance(files, list):
            raise ControllerInputError(f"audio_files must be a list of {{path, reference}} entries, got {files!r}")
        resolved = []
        for entry in files:
            entry = {"path": entry} if isinstance(entry, str) else dict(entry or {})
            if not entry.get("path"):
                raise ControllerInputError(f"each audio_files entry needs a path, got {entry!r}")
            entry["path"] = self._find(os.path.expanduser(str(entry["path"])), "test audio")
            if entry.get("reference") is None and _sibling(entry["path"], ".txt"):
                entry["reference"] = _read_text(_sibling(entry["path"], ".txt"))
            self._load(entry["path"], shipped)
            resolved.append(entry)
        args["audio_files"] = resolved

        diar = args.get("diarization_file")
        if diar is None:
            diar = {"path": os.path.join(SHIPPED_AUDIO, DIARIZATION_FIXTURE)}
        diar = {"path": diar} if isinstance(diar, str) else dict(diar)
        diar["path"] = self._find(os.path.expanduser(str(diar.get("path", ""))), "diarization audio")
        companion = _sibling(diar["path"], ".json")
        if diar.get("speakers") is None and companion:
            try:
                diar["speakers"] = int(json.loads(_read_text(companion))["speakers"])
            except (OSError, ValueError, KeyError, TypeError):
                raise ControllerInputError(f"{companion} should be JSON with an integer 'speakers' key") from None
        if diar["path"] not in shipped:
            self._load(diar["path"], shipped)
        args["diarization_file"] = diar

        if args.get("expected_overlay") is None:
            folder = args.get("overlay_dir") or SHIPPED_OVERLAY
            if args.get("overlay_dir") or os.path.isdir(folder):
                try:
                    args["expected_overlay"] = expected_overlay(self._find(folder, "overlay folder"))
                except CollectionError as exc:
                    raise ControllerInputError(str(exc)) from None
        args["_audio"] = shipped
        return args

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        lock_dir = args.get("lock_dir") or default_lock_dir()
        lock_key = args.get("lock_key") or task_vars.get("inventory_hostname") or "localhost"
        try:
            lock_timeout = float(args.get("lock_timeout", LOCK_ARGUMENT_SPEC["lock_timeout"]["default"]))
            args = self._controller_args(args)
        except (ControllerInputError, ValueError) as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        for key in ACTION_ONLY:
            args.pop(key, None)
        try:
            with host_lock(lock_dir, lock_key, lock_timeout) as waited:
                module_result = execute_host_module(self, MODULE, args, task_vars)
        except CollectionError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        shown = module_result.get("invocation", {}).get("module_args")
        if isinstance(shown, dict) and shown.get("_audio"):
            shown["_audio"] = {p: {"sha256": w["sha256"], "bytes": len(w["data"]) * 3 // 4}
                               for p, w in shown["_audio"].items()}
        result.update(module_result)
        result["lock_wait"] = round(waited, 3)
        result["lock_file"] = lock_path(lock_dir, lock_key)
        return result
