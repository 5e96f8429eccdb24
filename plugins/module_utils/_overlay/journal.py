# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The write-ahead journal that makes an overlay apply transactional.

Private to this collection. Before the first byte goes into the container,
the files the change is about to replace (and the names it is about to add)
are written to ``<backup_dir>/journal/<container id>.json`` on the host; the
journal is cleared once the change is verified, or once it was rolled back.
A journal that is still there at the start of a run means an earlier run was
interrupted after writing (the engine went away, the module was killed): that
run's previous files are put back first, into a stopped container too, so a
half-applied overlay is never taken for the current one.
"""
from __future__ import annotations

import base64
import json
import os
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import Entry
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import atomic_write, utc_timestamp


class JournalError(CollectionError):
    """The journal cannot be read or written; the message says where and why."""


def _entry_to_json(entry: Entry) -> dict[str, Any]:
    return {"name": entry.name, "kind": entry.kind, "mode": entry.mode, "uid": entry.uid, "gid": entry.gid,
            "data": base64.b64encode(entry.data).decode("ascii"), "linkname": entry.linkname}


def _entry_from_json(item: dict[str, Any]) -> Entry:
    return Entry(item["name"], item["kind"], int(item["mode"]), int(item["uid"]), int(item["gid"]),
                 base64.b64decode(item["data"]), item.get("linkname", ""))


class Journal:
    """The pending change of one container: what to write and remove to undo it."""

    def __init__(self, backup_dir: str, container_id: str) -> None:
        self.path = os.path.join(backup_dir, "journal", f"{container_id}.json")

    def load(self) -> dict[str, Any] | None:
        """``writes`` (entries), ``removals`` (names), ``had_overlay`` (bool), ``started``; None: no journal."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            data["writes"] = [_entry_from_json(item) for item in data["writes"]]
            return data
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise JournalError(f"the apply journal {self.path} is unreadable ({exc}): an earlier run was "
                               "interrupted; check the container's files by hand, then delete the journal") from None

    def save(self, writes: list[Entry], removals: list[str], had_overlay: bool, dest: str) -> None:
        record = {"dest": dest, "writes": [_entry_to_json(e) for e in writes], "removals": list(removals),
                  "had_overlay": had_overlay, "started": utc_timestamp()}
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            atomic_write(self.path, (json.dumps(record) + "\n").encode(), 0o600)
        except OSError as exc:
            raise JournalError(f"cannot write the apply journal {self.path}: {exc.strerror or exc}; nothing was "
                               "changed in the container (set backup_dir to a folder this user may write)") from None

    def clear(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise JournalError(f"cannot remove the apply journal {self.path}: {exc.strerror or exc}") from None
