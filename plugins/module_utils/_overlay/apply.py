# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Apply (or remove) an overlay in a container, as one transaction.

Private to this collection; the work behind the speech_patch module.

present: read the named files once, plan; if bytes are missing (the
controller sent digests first) ask for them; check the options against the
running service; back up originals before their first overwrite; write the
files the change replaces to the journal; write every change in one
archive; restart once, wait for readiness, optionally check real speech;
clear the journal. Whatever fails after the journal is written (a bad
overlay, the engine going away, a read timeout) puts the previous files
back and restarts on them; when even that fails, the journal stays and the
next run puts them back first, into a stopped container too. Files that
match but were never loaded by the running server (restart=false, or a run
interrupted before its restart) are activated: restarted and checked.
absent: the same, with the recorded originals as the target.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import (
    ArchiveError, Entry, read_more, read_names, remove_names, write_entries)
from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerException, describe, find_container, log_tail, require_running)
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._overlay import manifest as manifest_lib
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.backups import BackupStore
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.journal import Journal
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.plan import (
    Plan, diffs, overlay_targets, plan)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.service_check import (
    ReadyResult, ServiceCheckError, check_speech, preflight, wait_ready)
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    MANIFEST_NAME, OverlayFile, content_version)


class OverlayFailure(CollectionError):
    """The run failed; ``result`` holds what to report next to the message."""


# No defaults here: they live in the module's argument spec, which fills every field.
@dataclass
class Verify:
    url: str
    audio: bytes | None  # None: still on the controller; the run asks for it before it restarts or checks
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
    max_file_size: int


class _Run:
    def __init__(self, client: Any, settings: Settings) -> None:
        self.s = settings
        self.container = find_container(client, settings.container)
        self.image_id = self.container.attrs.get("Image", "")
        self.store = BackupStore(settings.backup_dir, self.image_id, settings.dest)
        self.journal = Journal(settings.backup_dir, self.container.id)
        self.notes: list[str] = []
        self.restarted_at: float | None = None
        self.wrote = False  # whether this run changed a file in the container
        self.result: dict[str, Any] = {
            "changed": False, "container": settings.container, "container_id": self.container.id,
            "image_id": self.image_id, "dest": settings.dest, "restarted": False, "ready": None,
            "verification": None, "backup": {"path": self.store.path, "recorded": []},
        }

    # -- the container --------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return self.container.attrs.get("State", {})

    def _started_at(self) -> str:
        return str(self._state().get("StartedAt", ""))

    def _dead(self) -> str | None:
        try:
            self.container.reload()
        except (DockerException, OSError) as exc:
            return f"container vanished: {describe(exc)}"
        state = self._state()
        if state.get("Restarting"):
            return f"container is crash-looping (last exit code {state.get('ExitCode')})"
        if not state.get("Running"):
            return f"container exited with code {state.get('ExitCode')}"
        return None

    def _require_running(self) -> None:
        require_running(self.container, self.s.container)

    def _url_for(self, with_overlay: bool) -> str | None:
        """The readiness URL of the server the container runs: the overlay's,
        or the original server's (which may lack /health/ready)."""
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
        self.container.reload()  # the SDK's restart() leaves attrs as they were: StartedAt, Running

    # -- writing ------------------------------------------------------------------
    def _marked(self, entries: list[Entry]) -> list[Entry]:
        """The manifest among ``entries`` carries the container's current start time: until the container
        restarts, the running server has not loaded what is written now."""
        now = self._started_at()
        return [Entry(e.name, e.kind, e.mode, e.uid, e.gid, manifest_lib.remark(e.data, now))
                if e.name == MANIFEST_NAME and e.kind == "file" else e for e in entries]

    def _put_back(self, writes: list[Entry], removals: list[str]) -> None:
        """Write ``writes``, delete ``removals`` and restart, running or stopped (exec needs it running)."""
        writes = self._marked(writes)
        if self._dead() is None:
            write_entries(self.container, self.s.dest, writes)
            remove_names(self.container, self.s.dest, removals)
            self._restart()
            return
        # A stopped container takes files through the archive API, but deleting the ones the change added
        # takes an exec: start the previous code, delete, and restart once more so it never runs beside them.
        write_entries(self.container, self.s.dest, writes)
        self._restart()
        if removals:
            remove_names(self.container, self.s.dest, removals)
            self._restart()

    def _repair(self) -> None:
        """An earlier run wrote files and never finished: put back what it replaced, first."""
        pending = self.journal.load()
        if pending is None:
            return
        if pending.get("dest") != self.s.dest:
            raise OverlayFailure(
                f"an interrupted apply into {pending.get('dest')} of {self.s.container} is pending in "
                f"{self.journal.path}; run again with dest={pending.get('dest')} to finish putting it back",
                **self.result)
        self.notes.append(f"an earlier run was interrupted after writing into {self.s.container} (journal "
                          f"{self.journal.path}, started {pending.get('started')}): its previous files were put back "
                          "first")
        try:
            self._put_back(pending["writes"], pending["removals"])
            ready = self._wait(self._url_for(pending["had_overlay"]))
        except (CollectionError, DockerException, OSError) as exc:  # any failure midway ends in a rollback
            raise OverlayFailure(
                f"an earlier run was interrupted after writing into {self.s.container}, and putting its previous "
                f"files back failed too ({describe(exc) if isinstance(exc, DockerException) else exc}); the journal "
                f"{self.journal.path} is kept: run again once the Docker engine answers", **self.result) from None
        self.journal.clear()
        self.result.update(changed=True, repaired=True, repair_ready=ready.as_dict())
        if not ready.ready:
            raise OverlayFailure(
                f"an earlier run was interrupted after writing into {self.s.container}; its previous files were put "
                f"back, but the service did not become ready: {ready.detail}. Nothing new was applied.\n"
                f"Last {self.s.log_lines} log lines:\n{log_tail(self.container, self.s.log_lines)}",
                **self.result, status="repaired")

    # -- checking -----------------------------------------------------------------
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

    def _activate(self, with_overlay: bool) -> str | None:
        """Restart, wait, verify; the failure reason, or None."""
        try:
            self._restart()
            ready = self._wait(self._url_for(with_overlay))
            self.result["ready"] = ready.as_dict()
            if not ready.ready:
                return f"did not become ready: {ready.detail}"
            return self._verify() if self.s.verify is not None else None
        except (DockerException, OSError) as exc:
            return f"could not be restarted: {describe(exc)}"
        except CollectionError as exc:
            return f"could not be checked: {exc}"

    def _roll_back(self, step: Plan, failure: str) -> None:
        logs = log_tail(self.container, self.s.log_lines, since=self.restarted_at)
        what = "the overlay" if self.s.state == "present" else "the restored originals"
        back = step.rollback()
        again = None
        try:
            self._put_back(back.writes(), back.removals())
            again = self._wait(self._url_for(step.manifest_before is not None))
            self.journal.clear()
            after = (f"The previous files were put back and the service is ready again ({again.seconds}s)."
                     if again.ready else
                     f"The previous files were put back, but the service did NOT come back: {again.detail}. "
                     f"Originals are kept in {self.store.path}.")
        except (CollectionError, DockerException, OSError) as exc:  # any failure midway ends in a rollback
            reason = describe(exc) if isinstance(exc, DockerException) else f"{exc}"
            after = (f"Putting the previous files back FAILED too ({reason}); they are kept in the journal "
                     f"{self.journal.path}, and the next run puts them back before anything else.")
        raise OverlayFailure(
            f"{what} in {self.s.container} {failure}. {after}\n"
            f"Last {self.s.log_lines} log lines of the failed start:\n{logs}",
            **{**self.result, "changed": True, "status": "rolled_back", "rolled_back": True,
               "rollback_ready": again.as_dict() if again else None, "log_tail": logs},
        )

    # -- the change ---------------------------------------------------------------
    def _restarts(self, step: Plan, pending_restart: bool) -> bool:
        """Whether applying ``step`` restarts the container (and so checks it): the server must load new code."""
        return self.s.restart and (step.content_changed or pending_restart)

    def _apply(self, step: Plan, pending_restart: bool) -> None:
        """Write the plan (if it changes anything) and, when the running server must load new code, restart
        and check it; any failure after the journal is written rolls back."""
        restart = self._restarts(step, pending_restart)
        if restart:
            self.result["preflight"] = preflight(self._url_for(step.manifest_after is not None),
                                                 self.s.verify, self.s.ready_timeout)
        if step.changed:
            self._record_originals(step)
            back = step.rollback()
            self.journal.save(back.writes(), back.removals(), step.manifest_before is not None, self.s.dest)
            try:
                self.wrote = True
                # Only new content waits for a restart; a manifest-only rewrite keeps the stamp the plan gave it.
                writes = self._marked(step.writes()) if step.content_changed else step.writes()
                write_entries(self.container, self.s.dest, writes)
                remove_names(self.container, self.s.dest, step.removals())
            except (CollectionError, DockerException, OSError) as exc:  # any failure midway ends in a rollback
                self._roll_back(step, f"could not be written ({exc})")
            if not restart:
                self.journal.clear()  # nothing the running server loaded has changed
                if step.content_changed:
                    self.notes.append("restart=false: the running server keeps the old code until it restarts; "
                                      "a later run with restart=true restarts and checks it")
                return
        failure = self._activate(step.manifest_after is not None)
        if failure and not step.content_changed:
            self.journal.clear()
            self._fail_current(f"did not come up on the files written by an earlier run: {failure}")
        if failure:
            self._roll_back(step, failure)
        self.journal.clear()

    def _record_originals(self, step: Plan) -> None:
        """Originals first: nothing is overwritten before its backup exists."""
        keep = self._originals(step)
        self.result["backup"]["recorded"] = self.store.record(keep, self.s.container) if keep else []

    def _originals(self, step: Plan) -> dict[str, Entry | None]:
        """The current state of the files ``step`` touches whose original is not recorded yet."""
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
        return keep

    def _fail_current(self, failure: str) -> None:
        logs = log_tail(self.container, self.s.log_lines)
        raise OverlayFailure(
            f"the files in {self.s.container} are as wanted, but the service {failure}. Nothing was rolled "
            "back (the running server does not run code this run wrote).\n"
            f"Last {self.s.log_lines} log lines:\n{logs}",
            **{**self.result, "changed": bool(self.result.get("restarted")) or self.wrote, "rolled_back": False,
               "log_tail": logs})

    def _check_current(self) -> None:
        """Nothing to change, but the caller asked for a speech check anyway."""
        ready = self._wait(self._url_for(self.s.state == "present"))
        self.result["ready"] = ready.as_dict()
        failure = f"is not ready: {ready.detail}" if not ready.ready else self._verify()
        if failure:
            self._fail_current(failure)

    def _finish(self, step: Plan, status: str, pending_restart: bool) -> dict[str, Any]:
        missing = step.missing_content()
        v = self.s.verify
        # The clip stays on the controller until a check needs it (a no-op call stays small).
        needs_clip = (not self.s.check_mode and v is not None and v.audio is None
                      and (v.when == "always" or self._restarts(step, pending_restart)))
        if needs_clip or (missing and (self.s.diff_mode or not self.s.check_mode)):
            # The controller sent digests first: ask for the bytes of what differs, change nothing yet.
            return {"changed": self.result["changed"], "needs_content": missing, "needs_verify_audio": needs_clip,
                    "container": self.s.container, "notes": self.notes,
                    "repaired": self.result.get("repaired", False)}
        activate = pending_restart and self.s.restart
        self.result["changed"] = self.result["changed"] or step.changed or activate  # a repair changed things too
        self.result["status"] = "pending_restart" if pending_restart and not activate and not step.changed else status
        self.result["check_mode"] = self.s.check_mode
        self.result["changed_files"] = step.changed_names()
        self.result["files"] = [
            {"name": c.name, "action": c.action,
             "sha256": (c.after or c.before).sha256 if (c.after or c.before) else None,
             "size": (c.after or c.before).size if (c.after or c.before) else None}
            for c in step.changes
        ]
        self.result["manifest"] = step.manifest_after
        self.result["manifest_before"] = step.manifest_before
        if self.s.diff_mode and step.changed:
            self.result["diff"] = diffs(step, f"{self.s.container}:{self.s.dest.rstrip('/')}", self.s.max_diff_size)
        if activate and not step.changed:
            self.notes.append("the files were written by an earlier run, but the running server started before "
                              "that (restart=false, or an interrupted run): restarted it now")
        if self.result["status"] == "pending_restart":
            self.notes.append("the files are in place, but the running server started before they were written "
                              "(restart=false): it serves the old code until it restarts")
        if not self.s.check_mode:
            if step.changed or activate:
                self._apply(step, pending_restart)
            if self.s.verify is not None and self.s.verify.when == "always" and self.result["verification"] is None:
                self._check_current()
        elif step.changed:
            self.result["backup"]["recorded"] = sorted(self._originals(step))  # what it would record
        self.result["notes"] = self.notes
        return self.result

    # -- the two states -------------------------------------------------------
    def _read(self, names: list[str]) -> tuple[Any, dict[str, Any] | None]:
        snapshot = read_names(self.container, self.s.dest, names, self.s.max_file_size)
        entry = snapshot.entries.get(MANIFEST_NAME)
        return snapshot, manifest_lib.parse(entry.data if entry is not None and entry.kind == "file" else None)

    def present(self) -> dict[str, Any]:
        files = self.s.files
        snapshot, before = self._read([f.name for f in files] + [MANIFEST_NAME])
        recorded = self.store.recorded()
        # Files an earlier overlay added but this one drops go back to their originals.
        dropped = sorted(set((before or {}).get("files", {})) - {f.name for f in files})
        read_more(self.container, snapshot, dropped, self.s.max_file_size)
        targets: dict[str, Any] = dict(overlay_targets(files, snapshot, self.s.owner_id, self.s.group_id, self.s.mode))
        for name in dropped:
            if name in recorded:
                targets[name] = self.store.original(name)
            else:
                self.notes.append(f"{name} came with an earlier overlay but has no recorded original: left in place")
        version = self.s.version or content_version(files)
        wanted = manifest_lib.build(version, {f.name: f.sha256 for f in files}, self.image_id, self._started_at())
        step = plan(snapshot, targets, wanted)
        self.result["version"] = version
        self.result["drift"] = manifest_lib.drift(
            before, {n: e.sha256 for n, e in snapshot.entries.items() if e.kind == "file"})
        pending = not step.content_changed and not manifest_lib.activated(step.manifest_before, self._started_at())
        return self._finish(step, "applied" if step.changed or pending else "current", pending)

    def absent(self) -> dict[str, Any]:
        recorded = self.store.recorded()
        snapshot, before = self._read(list(recorded) + [MANIFEST_NAME])
        targets = {name: self.store.original(name) for name in sorted(recorded)}
        missing = sorted(set((before or {}).get("files", {})) - set(recorded))
        if missing:
            raise OverlayFailure(
                f"cannot restore {', '.join(missing)} in {self.s.container}:{self.s.dest}: no original is recorded "
                f"for image {self.image_id} and that folder in {self.s.backup_dir}. Nothing was changed; recreate the "
                "container from its image to get the originals back", **self.result, status="absent")
        self.result["version"] = (before or {}).get("version")
        self.result["drift"] = []
        step = plan(snapshot, targets, None)
        return self._finish(step, "restored" if step.changed else "absent", False)

    def run(self) -> dict[str, Any]:
        if not self.s.check_mode:
            self._repair()
        elif self.journal.load() is not None:
            self.notes.append(f"an earlier run was interrupted after writing into {self.s.container} (journal "
                              f"{self.journal.path}): a run without check mode puts its previous files back first")
        self._require_running()
        return self.present() if self.s.state == "present" else self.absent()


def run(client: Any, settings: Settings) -> dict[str, Any]:
    """Do the work for one container; raises CollectionError (OverlayFailure, DockerAccessError, ArchiveError,
    BackupError, JournalError, ServiceCheckError) with a message fit for fail_json."""
    return _Run(client, settings).run()


__all__ = ["ArchiveError", "OverlayFailure", "Settings", "Verify", "run"]
