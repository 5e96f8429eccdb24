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
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._health.options import ARGUMENT_SPEC, RANGES
from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import problems as range_problems
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import DEFAULT_EXCLUDES, MAX_FILE_SIZE, load_dir
from ansible_collections.spark_control.audio.plugins.plugin_utils._host_lock import task_lock
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


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except UnicodeDecodeError as exc:
        raise ControllerInputError(f"{what} {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                                   f"{exc.start}: {exc.reason}): save it as UTF-8") from None
    except OSError as exc:
        raise ControllerInputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _shorthand(args: dict[str, Any]) -> dict[str, Any]:
    """Paths given as plain strings become {path: ...} entries; anything else is left to the argument spec,
    except values that are neither, which are named here."""
    files = args.get("audio_files")
    if isinstance(files, str):
        files = [files]
    if isinstance(files, list):
        entries = []
        for index, entry in enumerate(files):
            if isinstance(entry, str):
                entry = {"path": entry}
            elif not isinstance(entry, dict):
                raise ControllerInputError(
                    f"audio_files[{index}] must be a path or a mapping with path (and reference, name), got "
                    f"{entry!r} ({type(entry).__name__})")
            entries.append(entry)
        args["audio_files"] = entries
    diar = args.get("diarization_file")
    if isinstance(diar, str):
        args["diarization_file"] = {"path": diar}
    elif diar is not None and not isinstance(diar, dict):
        raise ControllerInputError(f"diarization_file must be a path or a mapping with path (and speakers, name), "
                                   f"got {diar!r} ({type(diar).__name__})")
    return args


def validated(args: dict[str, Any]) -> dict[str, Any]:
    """The task's options checked against the module's argument spec and ranges, before the controller reads
    any of them; raises ControllerInputError naming the option."""
    args = _shorthand(dict(args))
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(args)
    if result.error_messages:
        # The validator's text for an unknown option lacks the words AnsibleModule puts before it.
        raise ControllerInputError("; ".join(
            f"Unsupported parameters for audio_health: {exc}" if isinstance(exc, UnsupportedError) else str(exc)
            for exc in result.errors.errors))
    bad = range_problems(result.validated_parameters, RANGES)
    if bad:
        raise ControllerInputError("; ".join(bad))
    # Only what the task set goes on to the module (its defaults stay in the argument spec).
    return {key: result.validated_parameters[key] for key in args}


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
        resolved = []
        for entry in files:
            entry = dict(entry)
            entry["path"] = self._find(os.path.expanduser(str(entry["path"])), "test audio")
            text_file = _sibling(entry["path"], ".txt")
            if entry.get("reference") is None and text_file:
                entry["reference"] = _read_text(text_file, "reference file")
                if not entry["reference"]:
                    raise ControllerInputError(
                        f"reference file {text_file} is empty: write the words spoken in {entry['path']} into it, "
                        "or remove it to only require a non-empty transcript")
            self._load(entry["path"], shipped)
            resolved.append(entry)
        args["audio_files"] = resolved

        diar = args.get("diarization_file")
        if diar is None:
            diar = {"path": os.path.join(SHIPPED_AUDIO, DIARIZATION_FIXTURE)}
        diar = dict(diar)
        diar["path"] = self._find(os.path.expanduser(str(diar["path"])), "diarization audio")
        companion = _sibling(diar["path"], ".json")
        if diar.get("speakers") is None and companion:
            text = _read_text(companion, "speaker file")
            try:
                speakers = json.loads(text)["speakers"]
            except (ValueError, KeyError, TypeError):
                speakers = None
            if not isinstance(speakers, int) or isinstance(speakers, bool) or speakers < 1:
                raise ControllerInputError(f"{companion} should be JSON with a positive integer 'speakers' key "
                                           f"(the speakers in {diar['path']})")
            diar["speakers"] = speakers
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
        try:
            lock_args = validated(self._task.args)
            args = self._controller_args(dict(lock_args))
        except ControllerInputError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        for key in ACTION_ONLY:
            args.pop(key, None)
        try:
            with task_lock(lock_args, task_vars) as held:
                module_result = execute_host_module(self, MODULE, args, task_vars)
        except CollectionError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
            return result
        shown = module_result.get("invocation", {}).get("module_args")
        if isinstance(shown, dict) and shown.get("_audio"):
            shown["_audio"] = {p: {"sha256": w["sha256"], "bytes": len(w["data"]) * 3 // 4}
                               for p, w in shown["_audio"].items()}
        result.update(module_result, **held)
        return result
