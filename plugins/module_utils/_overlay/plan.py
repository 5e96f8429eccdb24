# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compare what a container holds with what it should hold, and plan the writes.

Private to this collection. A plan is built from a ``DirSnapshot`` and
"targets" (name -> wanted ``Entry``, or None for "must not exist"). Sizes
and modes are compared before bytes. The plan knows which writes change
content (and so need a restart) and which only fix metadata, and can invert
itself (``rollback()``) from the snapshot it was made from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._overlay import manifest as manifest_lib
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import DirSnapshot, Entry
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import MANIFEST_NAME, OverlayFile

CONTENT_ACTIONS = ("create", "update", "remove")


@dataclass
class FileChange:
    name: str
    action: str  # create | update | metadata | remove | unchanged
    before: Entry | None
    after: Entry | None

    @property
    def content_changed(self) -> bool:
        return self.action in CONTENT_ACTIONS


@dataclass
class Plan:
    changes: list[FileChange]
    manifest: FileChange | None = None
    manifest_before: dict[str, Any] | None = None
    manifest_after: dict[str, Any] | None = None

    def _all(self) -> list[FileChange]:
        return self.changes + ([self.manifest] if self.manifest else [])

    @property
    def content_changed(self) -> bool:
        return any(c.content_changed for c in self.changes)

    @property
    def changed(self) -> bool:
        return any(c.action != "unchanged" for c in self._all())

    def writes(self) -> list[Entry]:
        return [c.after for c in self._all() if c.action != "unchanged" and c.after is not None]

    def missing_content(self) -> list[str]:
        """Files to write whose bytes have not been sent yet (only their digest)."""
        return [e.name for e in self.writes() if not e.has_content]

    def removals(self) -> list[str]:
        return [c.name for c in self._all() if c.action == "remove"]

    def changed_names(self) -> list[str]:
        return [c.name for c in self.changes if c.action != "unchanged"]

    def rollback(self) -> "Plan":
        """The plan that puts back what the snapshot held for every touched name."""
        back = [classify(c.name, c.after, c.before) for c in self.changes if c.action != "unchanged"]
        manifest = None
        if self.manifest and self.manifest.action != "unchanged":
            manifest = classify(MANIFEST_NAME, self.manifest.after, self.manifest.before)
        return Plan(back, manifest, self.manifest_after, self.manifest_before)


def classify(name: str, before: Entry | None, after: Entry | None) -> FileChange:
    if after is None:
        return FileChange(name, "unchanged" if before is None else "remove", before, None)
    if before is None:
        return FileChange(name, "create", None, after)
    # Cheap checks first (kind, size), then the digest.
    if not after.same_content(before):
        return FileChange(name, "update", before, after)
    if not after.same_metadata(before):
        return FileChange(name, "metadata", before, after)
    return FileChange(name, "unchanged", before, after)


def overlay_targets(files: list[OverlayFile], snapshot: DirSnapshot, owner_id: int | None = None,
                    group_id: int | None = None, mode: int | None = None) -> dict[str, Entry]:
    """Wanted entries: explicit owner/mode win, else keep the existing file's, else
    the folder's owner and the source file's mode."""
    targets = {}
    for item in files:
        before = snapshot.entries.get(item.name)
        existing = before if before is not None and before.kind == "file" else None
        targets[item.name] = Entry(
            item.name, "file",
            mode if mode is not None else (existing.mode if existing else item.mode),
            owner_id if owner_id is not None else (existing.uid if existing else snapshot.uid),
            group_id if group_id is not None else (existing.gid if existing else snapshot.gid),
            item.data or b"", digest=item.sha256, length=item.size,
        )
    return targets


def plan(snapshot: DirSnapshot, targets: dict[str, Entry | None], manifest_after: dict[str, Any] | None) -> Plan:
    """Changes for every target, plus the manifest write (or removal)."""
    changes = [classify(name, snapshot.entries.get(name), target) for name, target in targets.items()]
    before_entry = snapshot.entries.get(MANIFEST_NAME)
    before = manifest_lib.parse(before_entry.data if before_entry and before_entry.kind == "file" else None)
    result = Plan(changes, None, before, manifest_after)
    if manifest_after is None:
        result.manifest = classify(MANIFEST_NAME, before_entry, None)
    elif manifest_lib.same_overlay(before, manifest_after) and not result.content_changed:
        result.manifest = FileChange(MANIFEST_NAME, "unchanged", before_entry, before_entry)
        result.manifest_after = before
    else:
        if not result.content_changed:
            # Only the manifest changes (a new version label, a first manifest, a dropped file left in place):
            # the running server loaded these files as much as before, so it keeps the earlier stamp.
            manifest_after = dict(manifest_after, written_during=(before or {}).get("written_during", ""))
            result.manifest_after = manifest_after
        entry = Entry(MANIFEST_NAME, "file", 0o644, snapshot.uid, snapshot.gid, manifest_lib.encode(manifest_after))
        result.manifest = classify(MANIFEST_NAME, before_entry, entry)
    return result


# -- diff mode ----------------------------------------------------------
def _is_binary(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _summary(entry: Entry | None) -> str:
    if entry is None:
        return "(absent)\n"
    if entry.kind == "symlink":
        return f"(symlink to {entry.linkname})\n"
    return f"({entry.size} bytes, sha256 {entry.sha256}, mode {entry.mode:04o}, owner {entry.uid}:{entry.gid})\n"


def diffs(result: Plan, header: str, max_size: int) -> list[dict[str, Any]]:
    """Ansible diff dicts: unified text diffs, binaries and big files flagged."""
    out = []
    for change in result._all():
        if change.action == "unchanged":
            continue
        item: dict[str, Any] = {"before_header": f"{header}/{change.name}", "after_header": f"{header}/{change.name}"}
        texts = []
        for side, entry in (("before", change.before), ("after", change.after)):
            data = entry.data if entry is not None and entry.kind == "file" and entry.has_content else None
            if change.action == "metadata" or data is None:
                texts.append(_summary(entry))
            elif _is_binary(data):
                item["dst_binary" if side == "before" else "src_binary"] = 1
                texts.append(_summary(entry))
            elif max_size and len(data) > max_size:
                item["dst_larger" if side == "before" else "src_larger"] = max_size
                texts.append(_summary(entry))
            else:
                texts.append(data.decode("utf-8"))
        item["before"], item["after"] = texts
        out.append(item)
    return out
