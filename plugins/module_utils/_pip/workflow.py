# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""container_pip's steps: read, resolve, refuse or install, verify, record.

Private to this collection. Nothing in the container changes before the
dry-run's resolution has passed every rule (policy.py); after installing,
the pins, the deny list and the import checks are verified again, and a
failed verification uninstalls what the run added and puts back what it
changed.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._pip import manifest as manifests
from ansible_collections.spark_control.audio.plugins.module_utils._pip.constraints import ConstraintSet, build
from ansible_collections.spark_control.audio.plugins.module_utils._pip.failures import (
    PipFailure, classify, index_urls, unreachable,
)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.container import ContainerPython
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import (
    Requirement, canonical, change_word, parse_requirement,
)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.policy import (
    DEFAULT_DENY, check, denied_installed, describe, module_refusals,
)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.report import Planned, parse
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import (
    CREDENTIALS_KEY, Credentials, index_args, recorded, split_credentials,
)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import describe as describe_sources
from ansible_collections.spark_control.audio.plugins.module_utils._pip.wheel_modules import denied as wheel_denied
from ansible_collections.spark_control.audio.plugins.module_utils._pip.wheel_modules import start_up_hooks

DEFAULT_CONSTRAINT_FILE = "/etc/pip/constraint.txt"


class ContainerPipError(CollectionError):
    """The run stopped; ``result`` carries what the module returns with the failure."""


@dataclass
class Settings:
    """One run's options, all set by the module (their defaults live in its argument spec)."""

    container: str
    requirements: list[Requirement]
    reinstall: bool
    family: list[str]
    constraint_file: str | None
    deny: dict[str, str]
    deny_modules: dict[str, str]  # module -> reason: no distribution may make one importable
    deny_kept_for: dict[str, set[str]]  # denied name -> distributions whose requirement of it is the image's
    remove_denied: bool
    allow_source_build: set[str]
    no_build_isolation: set[str]
    prefer_binary: bool
    import_checks: list[str]
    sources: dict[str, Any]  # where packages come from (_pip.sources), credentials included
    retries: int
    network_timeout: int
    manifest_path: str | None
    check_mode: bool
    diff: bool


def _constraint_candidates(pyc: ContainerPython, settings: Settings) -> list[str]:
    """Where the image's constraint file may be: the option, else PIP_CONSTRAINT, else NGC's path."""
    if settings.constraint_file:
        return [settings.constraint_file]
    from_env = pyc.environment().get("PIP_CONSTRAINT", "").split()
    return list(dict.fromkeys(from_env[:1] + [DEFAULT_CONSTRAINT_FILE]))


def _constraint_source(files: dict[str, str | None], candidates: list[str],
                       settings: Settings) -> tuple[str | None, str | None, list[str]]:
    """(path, text) of the image's constraint file, and notes."""
    for path in candidates:
        if files.get(path) is not None:
            return path, files[path], []
    if settings.constraint_file:
        raise ContainerPipError(f"constraint file {settings.constraint_file} does not exist in container "
                                f"{settings.container!r}: fix constraint_file or leave it unset")
    return None, None, [f"container {settings.container!r} has no pip constraint file (PIP_CONSTRAINT unset and "
                        f"no {DEFAULT_CONSTRAINT_FILE}): only the installed torch family is pinned"]


def _plan_rows(plan: list[Planned], installed: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for item in plan:
        before = installed.get(item.canonical, (None, None))[1]
        rows.append(item.as_dict() | {"installed_version": before, "action": change_word(before, item.version)})
    return rows


def _diff(rows: list[dict[str, Any]], removed: list[tuple[str, str]], container: str) -> dict[str, str]:
    before = sorted([f"{n}=={v}" for n, v in removed] +
                    [f"{r['name']}=={r['installed_version']}" for r in rows if r["installed_version"]])
    after = sorted(f"{r['name']}=={r['version']}" for r in rows)
    return {"before": "\n".join(before) + ("\n" if before else ""), "after": "\n".join(after) + ("\n" if after else ""),
            "before_header": f"{container}: packages before", "after_header": f"{container}: packages after"}


def _changes(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> dict[str, list]:
    return {
        "added": sorted(after[n][0] for n in after if n not in before),
        "removed": sorted(before[n][0] for n in before if n not in after),
        "changed": sorted((after[n][0], before[n][1], after[n][1]) for n in after
                          if n in before and before[n][1] != after[n][1]),
    }


class Run:
    """One container_pip run; ``execute()`` returns the module result or raises ContainerPipError."""

    def __init__(self, pyc: ContainerPython, settings: Settings) -> None:
        self.pyc = pyc
        self.s = settings
        self.result: dict[str, Any] = {"changed": False, "container": settings.container, "plan": [],
                                       "installed": [], "removed_denied": [], "kept_denied": []}
        self.kept_denied: dict[str, str] = {}   # canonical name -> version, left in place (see _keep_image_stack)
        self.notes: list[str] = []
        self.after: dict[str, tuple[str, str]] | None = None
        self.sources: dict[str, Any] = dict(settings.sources)
        self.clean_sources: dict[str, Any] = {}
        self.credentials = Credentials({}, [])
        self.modules_before: dict[str, dict[str, Any]] = {}
        self.no_isolation_names = {canonical(n) for n in settings.no_build_isolation}  # builds that must see torch

    # -- entry point --------------------------------------------------------
    def execute(self) -> dict[str, Any]:
        s = self.s
        candidates = _constraint_candidates(self.pyc, s)
        snapshot = self.pyc.snapshot(candidates, list(s.deny_modules))
        self.result["pip_version"] = snapshot.pip_version
        installed = self._handle_denied(snapshot.installed, snapshot.modules)
        requirements, recorded_deps, current_manifest = self._requirements()
        self.clean_sources, self.credentials = split_credentials(self.sources)
        path, text, notes = _constraint_source(snapshot.files, candidates, s)
        self.notes += notes
        cset = build(text, path, installed, s.family, recorded_deps)
        self.notes += cset.warnings
        self.result.update(pinned={cset.names[n]: v for n, v in sorted(cset.pins.items())},
                           constraint_file=path, constraints=cset.render().splitlines())
        if requirements:
            plan = self._resolve_and_install(requirements, installed, cset)
            if s.manifest_path and not s.reinstall:
                self._record(requirements, plan, cset, current_manifest)
        else:
            self._verify_untouched()
        self.result["notes"] = self.notes
        return self.result

    # -- steps ----------------------------------------------------------------
    def _context(self) -> dict[str, Any]:
        """What the run found (and did) so far, returned along with a failure."""
        return dict(self.result, notes=self.notes)

    def _requirements(self) -> tuple[list[Requirement], dict[str, str], dict[str, Any] | None]:
        current = manifests.load(self.s.manifest_path) if self.s.manifest_path else None
        self.result["manifest_path"] = self.s.manifest_path
        if not self.s.reinstall:
            return self.s.requirements, {}, current
        if current is None:
            self.notes.append(f"no package manifest at {self.s.manifest_path}: nothing recorded to reinstall")
            return [], {}, None
        pinned_reqs, deps = manifests.reinstall_plan(current)
        self.result["manifest"] = dict(current, sources=recorded(dict(current.get("sources") or {})))
        if not self.sources:
            # Repeatable: the same index as when the packages were installed, unless told otherwise.
            self.sources = dict(current.get("sources") or {})
            needed = self.sources.pop(CREDENTIALS_KEY, None)
            if needed:
                raise ContainerPipError(
                    f"the package manifest {self.s.manifest_path} records that {', '.join(needed)} carried "
                    "credentials, which are never recorded: give the source options (with their credentials) "
                    "to the reinstall, e.g. container_packages_index_url", **self._context())
        return [parse_requirement(r) for r in pinned_reqs], deps, current

    def _modules_outside(self, modules: dict[str, dict[str, Any]],
                         installed: dict[str, tuple[str, str]]) -> list[tuple[str, str, list[str], str]]:
        """(module, origin, owning distributions, reason) of each denied module that is importable through no
        denied distribution (those are the distribution rule's)."""
        found = []
        for module, info in sorted(modules.items()):
            owners = sorted({canonical(d) for d in info.get("dists") or []})
            if not any(owner in self.s.deny for owner in owners):
                found.append((module, info.get("origin") or "?", owners, self.s.deny_modules.get(module, "")))
        return found

    def _keep_image_stack(self, present: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        """Leave in place the denied packages the image's own stack requires (the ``kept_for`` of their deny
        entry: nemo_toolkit 3 requires cuda-bindings, so every NGC image with NeMo 3 has it; failing would stop
        every install there, removing it would break NeMo). The rest are returned, to refuse or remove."""
        kept_for = {name: users for name, users in self.s.deny_kept_for.items() if users}
        candidates = [p for p in present if canonical(p[0]) in kept_for]
        if not candidates:
            return present
        requirers = self.pyc.required_by([n for n, _unused, _unused in candidates])
        for name, version, _unused in candidates:
            needed_by = [u for u in requirers.get(canonical(name), []) if canonical(u.split()[0]) in kept_for[canonical(name)]]
            if not needed_by:
                continue
            self.kept_denied[canonical(name)] = version
            self.result["kept_denied"].append(f"{name}=={version}")
            note = (f"{name} {version} is on this container's deny list but already installed, required by "
                    f"{', '.join(needed_by)}: it came with the image, so it is left in place and installs go on")
            if canonical(name) in {canonical(d["name"]) for d in DEFAULT_DENY}:
                note += (". The parakeet overlay forces CUDA-graph decoding off (use_cuda_graph_decoder=false "
                         "unless ASR_CUDA_GRAPHS=on); its GET /overlay reports runtime.nemo_toolkit, "
                         "runtime.cuda_bindings and the live decoder's runtime.decoder_cuda_graphs. Anything else "
                         "that decodes in this container must switch graphs off itself")
            self.notes.append(note)
        return [p for p in present if canonical(p[0]) not in self.kept_denied]

    def _handle_denied(self, installed: dict[str, tuple[str, str]],
                       modules: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
        """Fail when a denied package is installed or a denied module importable, or remove them with
        remove_denied (a denied package the image's own stack requires stays: _keep_image_stack)."""
        self.modules_before = modules
        present = self._keep_image_stack(denied_installed(installed, self.s.deny))
        via_modules = self._modules_outside(modules, installed)
        if not present and not via_modules:
            return installed
        names = [n for n, _unused, _unused in present]
        owners = sorted({installed[o][0] for _m, _o, found, _r in via_modules for o in found if o in installed})
        orphans = [(m, origin) for m, origin, found, _r in via_modules if not any(o in installed for o in found)]
        if not self.s.remove_denied or orphans:
            self._refuse_denied(present, via_modules, names + owners, orphans)
        self.result["changed"] = True
        removing = names + owners
        self.result["removed_denied"] = [f"{installed[canonical(n)][0]}=={installed[canonical(n)][1]}"
                                         for n in removing]
        if self.s.diff:
            self.result["diff"] = _diff([], [installed[canonical(n)] for n in removing], self.s.container)
        if self.s.check_mode:
            gone = {canonical(n) for n in removing}
            return {k: v for k, v in installed.items() if k not in gone}
        done = self.pyc.pip(["uninstall", "-y", *removing])
        after = self.pyc.snapshot(modules=list(self.s.deny_modules))
        still = [n for n, _unused, _unused in denied_installed(after.installed, self.s.deny)
                 if canonical(n) not in self.kept_denied]
        still += [m for m, _o, _d, _r in self._modules_outside(after.modules, after.installed)]
        if done.rc != 0 or still:
            raise ContainerPipError(f"could not uninstall denied package(s) {still} from {self.s.container!r}: "
                                    f"{done.output.strip()[-400:]}", denied_installed=still, **self._context())
        self.modules_before = after.modules
        self.notes.append(f"removed denied package(s) {removing}: restart the container so that no running "
                          "process keeps them loaded")
        return after.installed

    def _refuse_denied(self, present: list[tuple[str, str, str]], via_modules: list[tuple[str, str, list[str], str]],
                       uninstall: list[str], orphans: list[tuple[str, str]]) -> None:
        c = self.s.container
        parts = []
        if present:
            listing = "; ".join(f"{n} {v} ({reason})" for n, v, reason in present)
            parts.append(f"already has denied package(s) installed: {listing}")
        if via_modules:
            listing = "; ".join(
                f"{m} from {origin} ({('installed by ' + ', '.join(found)) if found else 'owned by no distribution'}: "
                f"{reason})" for m, origin, found, reason in via_modules)
            parts.append(f"makes denied module(s) importable: {listing}")
        todo = []
        if uninstall:
            todo.append(f"Remove them (remove_denied=true, or: docker exec {c} {self.pyc.python} -m pip uninstall -y "
                        f"{' '.join(uninstall)}) and restart the container")
        if orphans:
            where = ", ".join(origin for _m, origin in orphans)
            todo.append(f"{'Also remove' if uninstall else 'Remove'} {where}, which no installed distribution owns "
                        "(remove_denied cannot uninstall it), or recreate the container from its image")
        raise ContainerPipError(
            f"container {c!r} {' and '.join(parts)}. {'; '.join(todo)}",
            denied_installed=[n for n, _v, _r in present],
            denied_modules=[m for m, _o, _d, _r in via_modules], **self._context(),
        )

    def _pip_base(self, no_isolation: bool) -> list[str]:
        base = ["install", "--progress-bar", "off", "--no-color", "--root-user-action=ignore"]
        if self.s.prefer_binary:
            base.append("--prefer-binary")
        if no_isolation:
            base.append("--no-build-isolation")
        return base + index_args(self.clean_sources, self.s.retries, self.s.network_timeout)

    def _classify(self, output: str, cset: ConstraintSet, env: dict[str, str]) -> PipFailure:
        failure = classify(output, self.s.container, cset.pins, self.s.allow_source_build, self.s.no_build_isolation)
        if failure.kind in ("unknown_package", "no_matching_version"):
            # pip stays quiet about an index it cannot reach when it does not retry: ask the container.
            problems = self.pyc.unreachable(index_urls(output), env)
            if problems:
                return unreachable(output, self.s.container, problems)
        return failure

    def _dry_run(self, reqs: list[str], env: dict[str, str], scratch: str,
                 cset: ConstraintSet, no_isolation: bool) -> tuple[list[Planned], bool]:
        report = f"{scratch}/report.json"
        done = self.pyc.pip(self._pip_base(no_isolation) + ["--dry-run", "--report", report, *reqs], env)
        if done.rc == 0:
            plan = parse(self.pyc.read_text(report))
            # A dependency that must build without isolation can also resolve fine with it (its metadata step
            # works in isolation): it would then build against a torch of its own, not the container's.
            if not no_isolation and any(p.source_build and p.canonical in self.no_isolation_names for p in plan):
                return self._dry_run(reqs, env, scratch, cset, True)
            return plan, no_isolation
        failure = self._classify(done.output, cset, env)
        # A dependency that must build without isolation (torchaudio) shows up only when its build fails.
        if (not no_isolation and failure.kind in ("build_failed", "source_build")
                and failure.package in self.no_isolation_names):
            return self._dry_run(reqs, env, scratch, cset, True)
        raise ContainerPipError(
            failure.message.rstrip(".") + ". Nothing was changed in the container (refused at the dry run).",
            failure_kind=failure.kind, failure_package=failure.package, pip_output=failure.pip_lines,
            **self._context(),
        )

    def _resolve_and_install(self, requirements: list[Requirement], installed: dict[str, tuple[str, str]],
                             cset: ConstraintSet) -> list[Planned]:
        s = self.s
        reqs = [r.text for r in requirements]
        no_isolation = any(r.canonical in self.no_isolation_names for r in requirements)
        scratch = self.pyc.make_scratch()
        try:
            env = {"PIP_CONSTRAINT": self.pyc.write_text(scratch, "constraints.txt", cset.render())}
            if self.credentials.by_host:
                # pip's session (and the probe) read the index credentials from here, not from argv.
                env["NETRC"] = self.pyc.write_text(scratch, "netrc", self.credentials.netrc(), mode=0o600)
            plan, no_isolation = self._dry_run(reqs, env, scratch, cset, no_isolation)
            rows = _plan_rows(plan, installed)
            self.result.update(plan=rows, build_isolation=not no_isolation)
            refusals = check(plan, cset.pins, installed, s.deny, s.allow_source_build)
            if not refusals:  # only then worth fetching the wheels
                refusals = self._module_refusals(plan, env, scratch, cset)
            if refusals:
                raise ContainerPipError(
                    f"refused to install {', '.join(reqs)} into {s.container!r}: "
                    + describe(refusals)
                    + " Nothing was changed in the container (refused at the dry run).",
                    refusals=[r.as_dict() for r in refusals], **self._context(),
                )
            if s.diff and plan:
                removed = [tuple(x.split("==", 1)) for x in self.result["removed_denied"]]
                self.result["diff"] = _diff(rows, removed, s.container)
            if not plan:
                self._verify_untouched()
                return plan
            self.result["changed"] = True
            if s.check_mode:
                return plan
            done = self.pyc.pip(self._pip_base(no_isolation) + reqs, env)
            now = self.pyc.snapshot(modules=list(s.deny_modules))
            self.after = now.installed
            if done.rc != 0:
                failure = self._classify(done.output, cset, env)
                rollback = self._rollback(installed, self.after, env, no_isolation)
                raise ContainerPipError(
                    f"pip install failed in {s.container!r} after a clean dry run: {failure.message}. "
                    f"Rolled back: {rollback['summary']}",
                    failure_kind=failure.kind, failure_package=failure.package, pip_output=failure.pip_lines,
                    rollback=rollback, **self._context(),
                )
            self._verify_installed(installed, cset, env, no_isolation, now.modules)
            self.result["installed"] = [f"{self.after[p.canonical][0]}=={self.after[p.canonical][1]}"
                                        for p in plan if p.canonical in self.after]
            return plan
        finally:
            self.pyc.remove_tree(scratch)

    def _module_refusals(self, plan: list[Planned], env: dict[str, str], scratch: str,
                         cset: ConstraintSet) -> list[Any]:
        """Fetch the resolution's wheels (exactly the files pip planned) into the scratch folder and refuse
        those whose files would make a denied module importable."""
        wheels = [p for p in plan if not p.source_build]
        if not self.s.deny_modules or not wheels:
            return []
        folder = f"{scratch}/wheels"
        urls = [p.url + (f"#sha256={p.sha256}" if p.sha256 else "") for p in wheels]
        # No constraints: these are exact files, already checked against the pins.
        done = self.pyc.pip(["download", "--no-deps", "--progress-bar", "off", "--no-color", "--dest", folder]
                            + index_args(self.clean_sources, self.s.retries, self.s.network_timeout) + urls,
                            dict(env, PIP_CONSTRAINT=""))
        if done.rc != 0:
            failure = self._classify(done.output, cset, env)
            raise ContainerPipError(
                f"could not fetch the wheels of the resolution to check which modules they make importable: "
                f"{failure.message.rstrip('.')}. Nothing was changed in the container.",
                failure_kind=failure.kind, failure_package=failure.package, pip_output=failure.pip_lines,
                **self._context())
        listing = self.pyc.wheel_files(folder)
        refusals = []
        for item in wheels:
            filename = posixpath.basename(unquote(urlsplit(item.url).path))
            entries = listing.get(filename)
            if not isinstance(entries, list):
                raise ContainerPipError(
                    f"cannot read the wheel {filename} of {item.name} {item.version} ({entries or 'not downloaded'}) "
                    "to check which modules it makes importable. Nothing was changed in the container.",
                    **self._context())
            refusals += module_refusals(plan, item, wheel_denied(entries, list(self.s.deny_modules)),
                                        self.s.deny_modules)
            hooks = start_up_hooks(entries)
            if hooks:
                self.notes.append(f"{item.name} {item.version} ships {', '.join(hooks)}, code that runs at every "
                                  "interpreter start: what it makes importable is checked after installing")
        self.result["wheels_checked"] = sorted(listing)
        return refusals

    def _import_problems(self) -> list[str]:
        errors = self.pyc.import_errors(self.s.import_checks)
        self.result["import_checks"] = {m: (errors.get(m) or "ok") for m in self.s.import_checks}
        return [f"import {module} fails: {error}" for module, error in errors.items()]

    def _verify_untouched(self) -> None:
        """Nothing to install: the import checks must still pass (a health check of the pins)."""
        if self.s.check_mode and self.result["removed_denied"]:
            return  # what the removal would fix cannot be checked without doing it
        problems = self._import_problems()
        if problems:
            raise ContainerPipError(
                f"container {self.s.container!r} fails its import checks with nothing installed by this run: "
                f"{'; '.join(problems)}", **self._context(),
            )

    def _verify_installed(self, before: dict[str, tuple[str, str]], cset: ConstraintSet,
                          env: dict[str, str], no_isolation: bool, modules: dict[str, dict[str, Any]]) -> None:
        """Pins unchanged, nothing denied (by name, or a denied module that became importable), imports fine;
        otherwise roll back and fail."""
        after = self.after or {}
        problems = []
        for name, version in sorted(cset.pins.items()):
            now = after.get(name, (None, None))[1]
            if now != version:
                problems.append(f"pinned {cset.names[name]} is now {now or 'missing'} (was {version})")
        problems += [f"denied {n} {v} got installed" for n, v, _unused in denied_installed(after, self.s.deny)
                     if self.kept_denied.get(canonical(n)) != v]
        for module, info in sorted(modules.items()):
            if module not in self.modules_before:
                owners = ", ".join(info.get("dists") or []) or "no distribution"
                problems.append(f"denied module {module} is importable after installing (from {info.get('origin')}, "
                                f"owned by {owners}): {self.s.deny_modules.get(module, '')}")
        problems += self._import_problems()
        if not problems:
            return
        rollback = self._rollback(before, after, env, no_isolation)
        raise ContainerPipError(
            f"installed into {self.s.container!r}, but the checks afterwards failed: {'; '.join(problems)}. "
            f"Rolled back: {rollback['summary']}", rollback=rollback, **self._context(),
        )

    def _rollback(self, before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]],
                  env: dict[str, str], no_isolation: bool) -> dict[str, Any]:
        """Uninstall what the run added, put back the versions it changed."""
        changes = _changes(before, after)
        if changes["added"]:
            self.pyc.pip(["uninstall", "-y", *changes["added"]])
        restore = [f"{before[canonical(n)][0]}=={old}" for n, old, _unused in changes["changed"]]
        restore += [f"{before[canonical(n)][0]}=={before[canonical(n)][1]}" for n in changes["removed"]]
        if restore:
            self.pyc.pip(self._pip_base(no_isolation) + ["--no-deps", *restore], env)
        final = self.pyc.installed()
        restored = final == before
        summary = (f"uninstalled {changes['added'] or 'nothing'}, reinstalled {restore or 'nothing'}; the "
                   + ("container's packages are as before the run" if restored else
                      f"container's packages still differ from before the run: {_changes(before, final)}"))
        self.after = final
        # The run changed something only if the rollback could not undo it all (or removed a denied package).
        self.result["changed"] = bool(self.result["removed_denied"]) or not restored
        return {"uninstalled": changes["added"], "reinstalled": restore, "restored": restored, "summary": summary}

    def _record(self, requirements: list[Requirement], plan: list[Planned], cset: ConstraintSet,
                current: dict[str, Any] | None) -> None:
        """Write what this run asked for and got into the host-side manifest."""
        after = self.after if self.after is not None else ({} if self.s.check_mode else self.pyc.installed())
        planned = {p.canonical: p.version for p in plan}
        # Packages this collection put in (now or before) stay ours even once pinned: a torchaudio
        # installed here is torch family from then on. The image's own packages are never recorded.
        ours = set(planned) | set((current or {}).get("packages", {})) | set((current or {}).get("resolved", {}))
        requested = {}
        for req in requirements:
            if req.canonical not in ours:
                continue  # already satisfied by the image: a reinstall must not pin (or downgrade) it
            version = after.get(req.canonical, (None, None))[1] or planned.get(req.canonical)
            if version:
                requested[req.canonical] = (req.text, version)
        if current is None and not requested:
            return  # nothing of ours to remember
        resolved = {name: after.get(name, (None, version))[1] for name, version in planned.items()}
        image_pins = {cset.names[n]: v for n, v in cset.pins.items() if n not in ours}
        sources = recorded(self.sources)
        self._note_replaced_sources(current, requested, sources)

        def build(latest: dict[str, Any] | None) -> dict[str, Any]:
            return manifests.merged(latest, self.s.container, requested, resolved, image_pins, sources)

        if self.s.check_mode:
            wanted = build(current)
            written = not manifests.same_record(current, wanted)
        else:
            wanted, written = manifests.update(self.s.manifest_path, build)
        self.result["manifest"] = wanted
        if written:
            self.result.update(changed=True, manifest_changed=True)

    def _note_replaced_sources(self, current: dict[str, Any] | None, requested: dict[str, Any],
                               sources: dict[str, Any]) -> None:
        """Warn when this run's index options replace those the earlier packages were installed from."""
        before = (current or {}).get("sources") or {}
        others = sorted(set((current or {}).get("packages", {})) - set(requested))
        if sources and before and others and recorded(dict(before)) != sources:
            self.notes.append(
                f"the package manifest keeps one set of index options per container: {', '.join(others)} were "
                f"recorded from {describe_sources(before)}, and a reinstall now uses this run's "
                f"({describe_sources(sources)}). Give the reinstall options that reach every package "
                "(container_packages_index_url, container_packages_extra_index_urls) if they differ")
