# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apply (or remove) an overlay in a running container, safely.

Private to this collection; the work behind the speech_patch module.

present: read the folder once, plan, back up originals before their first
overwrite, write every change in one archive, restart once, wait for
readiness, optionally check real speech. If the new files fail, the files
the container held before the run are written back, the container restarted
again, and ``OverlayFailure`` carries the failed start's log tail.
absent: the same, with the recorded originals as the target.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._overlay import manifest as manifest_lib
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.backups import BackupStore
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import (
    ArchiveError, read_dir, remove_names, write_entries)
from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerException, describe, log_tail, running_container)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.plan import (
    Plan, diffs, overlay_targets, plan)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    MANIFEST_NAME, OverlayFile, content_version)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.service_check import (
    ReadyResult, ServiceCheckError, check_speech, wait_ready)


class OverlayFailure(CollectionError):
    """The run failed; ``result`` holds what to report next to the message."""


# No defaults here: they live in the module's argument spec, which fills every field.
@dataclass
class Verify:
    url: str
    audio: bytes
    text: str
    max_wer: float
    timeout: float
    model: str | None
    when: str  # changed | always


@dataclass
class Settings:
    container: str
    dest: str
    state: str
    files: list[OverlayFile]
    version: str | None
    owner_id: int | None
    group_id: int | None
    mode: int | None
    restart: bool
    stop_timeout: int
    ready_url: str | None
    original_ready_url: str | None  # the server without overlay; None: ready_url
    ready_timeout: float
    verify: Verify | None
    backup_dir: str
    log_lines: int
    check_mode: bool
    diff_mode: bool
    max_diff_size: int


class _Run:
    def __init__(self, client: Any, settings: Settings) -> None:
        self.s = settings
        self.container = running_container(client, settings.container)
        self.image_id = self.container.attrs.get("Image", "")
        self.store = BackupStore(settings.backup_dir, self.image_id)
        self.notes: list[str] = []
        self.restarted_at: float | None = None
        self.result: dict[str, Any] = {
            "changed": False, "container": settings.container, "container_id": self.container.id,
            "image_id": self.image_id, "dest": settings.dest, "restarted": False, "ready": None,
            "verification": None, "backup": {"path": self.store.path, "recorded": []},
        }

    # -- steps ------------------------------------------------------------
    def _commit(self, step: Plan) -> None:
        write_entries(self.container, self.s.dest, step.writes())
        remove_names(self.container, self.s.dest, step.removals())

    def _dead(self) -> str | None:
        try:
            self.container.reload()
        except DockerException as exc:
            return f"container vanished: {describe(exc)}"
        state = self.container.attrs.get("State", {})
        if state.get("Restarting"):
            return f"container is crash-looping (last exit code {state.get('ExitCode')})"
        if not state.get("Running"):
            return f"container exited with code {state.get('ExitCode')}"
        return None

    def _url_for(self, with_overlay: bool) -> str | None:
        """The readiness URL of the server the container runs now: the
        overlay's, or the original server's (which may lack /health/ready)."""
        return self.s.ready_url if with_overlay else (self.s.original_ready_url or self.s.ready_url)

    def _wait(self, url: str | None) -> ReadyResult:
        if url:
            return wait_ready(url, self.s.ready_timeout, alive=self._dead)
        # No readiness endpoint: the least we can check is that it keeps running.
        start = time.monotonic()
        while time.monotonic() - start < min(3.0, self.s.ready_timeout):
            reason = self._dead()
            if reason:
                return ReadyResult(False, "", None, round(time.monotonic() - start, 2), reason)
            time.sleep(0.5)
        return ReadyResult(True, "", None, round(time.monotonic() - start, 2), "running (no ready_url given)")

    def _restart(self) -> None:
        self.restarted_at = time.time()
        self.container.restart(timeout=self.s.stop_timeout)
        self.result["restarted"] = True

    def _verify(self) -> str | None:
        """Run the speech check; return a failure reason or None."""
        v = self.s.verify
        try:
            check = check_speech(v.url, v.audio, v.text, v.max_wer, timeout=v.timeout, model=v.model)
        except ServiceCheckError as exc:
            self.result["verification"] = {"url": v.url, "passed": False, "error": str(exc)}
            return f"the real-speech check failed: {exc}"
        self.result["verification"] = check
        if not check["passed"]:
            return (f"the real-speech check failed: word error rate {check['wer']:.2f} > {v.max_wer} "
                    f"(heard {check['text'][:200]!r})")
        return None

    def _activate(self, step: Plan) -> None:
        """Restart, wait, verify; on failure roll back and raise."""
        failure = None
        try:
            self._restart()
            ready = self._wait(self._url_for(step.manifest_after is not None))
            self.result["ready"] = ready.as_dict()
            if not ready.ready:
                failure = f"did not become ready: {ready.detail}"
            elif self.s.verify is not None:
                failure = self._verify()
        except DockerException as exc:
            failure = f"could not be restarted: {describe(exc)}"
        except ServiceCheckError as exc:
            failure = f"could not be checked: {exc}"
        if failure:
            self._roll_back(step, failure)

    def _restore_previous(self, back: Plan) -> None:
        """Write back the previous files and restart on them."""
        if self._dead() is None:
            self._commit(back)
            self.container.restart(timeout=self.s.stop_timeout)
            return
        # The failed start left the container stopped. Files can be written
        # into a stopped container, but deleting the ones the change added
        # takes an exec, which needs it running: start the previous code,
        # delete, and restart once more so it never runs next to them.
        write_entries(self.container, self.s.dest, back.writes())
        self.container.restart(timeout=self.s.stop_timeout)
        if back.removals():
            remove_names(self.container, self.s.dest, back.removals())
            self.container.restart(timeout=self.s.stop_timeout)

    def _roll_back(self, step: Plan, failure: str) -> None:
        logs = log_tail(self.container, self.s.log_lines, since=self.restarted_at)
        what = "the overlay" if self.s.state == "present" else "the restored originals"
        try:
            self._restore_previous(step.rollback())
            again = self._wait(self._url_for(step.manifest_before is not None))
            after = (f"The previous files were put back and the service is ready again ({again.seconds}s)."
                     if again.ready else
                     f"The previous files were put back, but the service did NOT come back: {again.detail}. "
                     f"Originals are kept in {self.store.path}.")
        except (ArchiveError, DockerException) as exc:
            after = f"Putting the previous files back FAILED too ({exc}); originals are kept in {self.store.path}."
            again = None
        raise OverlayFailure(
            f"{what} in {self.s.container} {failure}. {after}\n"
            f"Last {self.s.log_lines} log lines of the failed start:\n{logs}",
            **{**self.result, "changed": True, "status": "rolled_back", "rolled_back": True,
               "rollback_ready": again.as_dict() if again else None, "log_tail": logs},
        )

    def _finish(self, step: Plan, status: str) -> dict[str, Any]:
        self.result["changed"] = step.changed
        self.result["status"] = status
        self.result["check_mode"] = self.s.check_mode
        self.result["changed_files"] = step.changed_names()
        self.result["files"] = [
            {"name": c.name, "action": c.action,
             "sha256": (c.after or c.before).sha256 if (c.after or c.before) else None,
             "size": len((c.after or c.before).data) if (c.after or c.before) else None}
            for c in step.changes
        ]
        self.result["manifest"] = step.manifest_after
        self.result["manifest_before"] = step.manifest_before
        if self.s.diff_mode and step.changed:
            self.result["diff"] = diffs(step, f"{self.s.container}:{self.s.dest.rstrip('/')}", self.s.max_diff_size)
        if not self.s.check_mode:
            if step.changed:
                self._apply(step)
            if self.s.verify is not None and self.s.verify.when == "always" and self.result["verification"] is None:
                self._check_current()
        self.result["notes"] = self.notes
        return self.result

    def _apply(self, step: Plan) -> None:
        # Originals first: nothing is overwritten before its backup exists.
        recorded = self.store.recorded()
        ours = set((step.manifest_before or {}).get("files", {}))
        keep = {}
        for change in step.changes:
            if change.action == "unchanged" or change.name in recorded:
                continue
            if change.name in ours and self.s.state == "present":
                self.notes.append(f"no original of {change.name} is recorded in {self.store.path} (the backup "
                                  "was removed after an earlier apply); state=absent cannot restore it")
                continue
            keep[change.name] = change.before
        self.result["backup"]["recorded"] = self.store.record(keep, self.s.container) if keep else []
        try:
            self._commit(step)
        except (ArchiveError, DockerException) as exc:
            self._roll_back(step, f"could not be written ({exc})")
        if step.content_changed and self.s.restart:
            self._activate(step)
        elif step.content_changed:
            self.notes.append("restart=false: the running server keeps the old code until it restarts")

    def _check_current(self) -> None:
        """Nothing to change, but the caller asked for a speech check anyway."""
        ready = self._wait(self._url_for(self.s.state == "present"))
        self.result["ready"] = ready.as_dict()
        failure = f"is not ready: {ready.detail}" if not ready.ready else self._verify()
        if failure:
            logs = log_tail(self.container, self.s.log_lines)
            raise OverlayFailure(
                f"the files in {self.s.container} are as wanted, but the service {failure}. Nothing was rolled "
                "back (this run did not change the server code).\n"
                f"Last {self.s.log_lines} log lines:\n{logs}",
                **{**self.result, "rolled_back": False, "log_tail": logs})

    # -- the two states -------------------------------------------------------
    def present(self) -> dict[str, Any]:
        files = self.s.files
        names = [f.name for f in files] + [MANIFEST_NAME]
        snapshot = read_dir(self.container, self.s.dest, names)
        before = manifest_lib.parse(snapshot.entries[MANIFEST_NAME].data) if MANIFEST_NAME in snapshot.entries else None
        targets: dict[str, Any] = dict(overlay_targets(files, snapshot, self.s.owner_id, self.s.group_id, self.s.mode))
        recorded = self.store.recorded()
        # Files an earlier overlay added but this one drops go back to their originals.
        for name in sorted(set((before or {}).get("files", {})) - set(targets)):
            if name in recorded:
                targets[name] = self.store.original(name)
            else:
                self.notes.append(f"{name} came with an earlier overlay but has no recorded original: left in place")
        version = self.s.version or content_version(files)
        wanted = manifest_lib.build(version, {f.name: f.sha256 for f in files}, self.image_id)
        step = plan(snapshot, targets, wanted)
        self.result["version"] = version
        self.result["drift"] = manifest_lib.drift(
            before, {n: e.sha256 for n, e in snapshot.entries.items() if e.kind == "file"})
        return self._finish(step, "applied" if step.changed else "current")

    def absent(self) -> dict[str, Any]:
        recorded = self.store.recorded()
        snapshot = read_dir(self.container, self.s.dest, list(recorded) + [MANIFEST_NAME])
        before = manifest_lib.parse(snapshot.entries[MANIFEST_NAME].data) if MANIFEST_NAME in snapshot.entries else None
        targets = {name: self.store.original(name) for name in sorted(recorded)}
        missing = sorted(set((before or {}).get("files", {})) - set(recorded))
        if missing:
            raise OverlayFailure(
                f"cannot restore {', '.join(missing)} in {self.s.container}: no original is recorded for image "
                f"{self.image_id} in {self.s.backup_dir}. Nothing was changed; recreate the container from its "
                "image to get the originals back", **self.result, status="absent")
        self.result["version"] = (before or {}).get("version")
        self.result["drift"] = []
        step = plan(snapshot, targets, None)
        return self._finish(step, "restored" if step.changed else "absent")


def run(client: Any, settings: Settings) -> dict[str, Any]:
    """Do the work for one container; raises OverlayFailure, DockerAccessError,
    ArchiveError or BackupError with a message fit for fail_json."""
    job = _Run(client, settings)
    return job.present() if settings.state == "present" else job.absent()
