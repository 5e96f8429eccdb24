# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The package manifest of a container, kept on the managed host.

Private to this collection. ``docker rm`` loses every package pip put into a
container; the manifest (``<manifest_dir>/<container>.json``) remembers them
so they can be installed again, identically, after the container is
recreated. It records, per requested package, the requirement as given and
the version installed now (a later run that moves it as a dependency moves
it here too), plus the exact versions of the dependencies that came with
them (``resolved``), the pins in force at the time, and the index options of
the last run that recorded something (``sources``, without credentials: a
reinstall uses them unless given others). A run re-reads the manifest and
writes it under a lock file (``_state_files``), atomically, so two runs on
one container keep each other's entries; the manifest is 0600 in a folder
made 0700: it names the container's packages and index hosts, for the host's
administrators only.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Callable

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import RequirementError, parse_requirement
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import recorded
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import atomic_write, locked, utc_timestamp

TOOL = "spark_control.audio.container_pip"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class ManifestError(CollectionError):
    """The manifest cannot be read or written; the message says why."""


DEFAULT_DIR = "/var/lib/spark_control/container-packages"


def path_for(manifest_dir: str, container: str) -> str:
    return os.path.join(manifest_dir, _SAFE.sub("_", container) + ".json")


def load(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the package manifest {path}: {exc}; fix or remove it") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("packages"), dict):
        raise ManifestError(f"{path} is not a container_pip package manifest (no 'packages' mapping)")
    bad = _shape_problems(manifest)
    if bad:
        raise ManifestError(f"the package manifest {path} is damaged: {'; '.join(bad[:5])}; fix or remove it "
                            "(container_pip writes it again at the next install)")
    return manifest


def _shape_problems(manifest: dict[str, Any]) -> list[str]:
    """What in a loaded manifest is not as container_pip writes it (a hand edit, a bad copy)."""
    bad = [f"'{key}' is not a mapping" for key in ("resolved", "pins", "sources")
           if not isinstance(manifest.get(key, {}), dict)]
    for name, info in manifest["packages"].items():
        if not isinstance(info, dict) or not isinstance(info.get("version"), str) or not info["version"]:
            bad.append(f"packages.{name} has no 'version' string")
            continue
        try:
            parse_requirement(str(info.get("requirement") or name))
        except RequirementError as exc:
            bad.append(f"packages.{name}.requirement: {exc}")
    bad += [f"resolved.{name} is not a version string" for name, version in
            (manifest.get("resolved") if isinstance(manifest.get("resolved"), dict) else {}).items()
            if not isinstance(version, str)]
    return bad


def merged(current: dict[str, Any] | None, container: str, requested: dict[str, tuple[str, str]],
           resolved: dict[str, str], pins: dict[str, str], sources: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest after recording ``requested`` (canonical -> (requirement, version)).

    ``resolved`` holds canonical -> version of everything the run installed;
    ``sources`` the index options it used (kept from before when empty).
    """
    manifest = {"container": container, "tool": TOOL, "packages": {}, "resolved": {}, "pins": {}, "sources": {}}
    if current:
        manifest["packages"] = dict(current.get("packages", {}))
        manifest["resolved"] = dict(current.get("resolved", {}))
        # recorded() also drops credentials a manifest of an earlier release may hold.
        manifest["sources"] = recorded(dict(current.get("sources", {})))
        manifest["updated_at"] = current.get("updated_at")
    if sources:
        manifest["sources"] = recorded(dict(sources))
    for name, (requirement, version) in requested.items():
        manifest["packages"][name] = {"requirement": requirement, "version": version}
        manifest["resolved"][name] = version
    manifest["resolved"].update(resolved)
    # A recorded package this run moved as a dependency is reinstalled at its new version.
    for name, version in resolved.items():
        info = manifest["packages"].get(name)
        if name not in requested and info is not None and info.get("version") != version:
            manifest["packages"][name] = dict(info, version=version)
    manifest["pins"] = dict(pins)
    return manifest


def same_record(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    keys = ("packages", "resolved", "pins", "sources")
    return a is not None and b is not None and all(a.get(k) == b.get(k) for k in keys)


def reinstall_plan(manifest: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(requirements pinned to the recorded versions, recorded dependency versions)."""
    packages = manifest.get("packages", {})
    requirements = []
    for name, info in sorted(packages.items()):
        extras = parse_requirement(str(info.get("requirement") or name)).extras  # load() checked it parses
        requirements.append(f"{name}[{','.join(extras)}]=={info['version']}" if extras else f"{name}=={info['version']}")
    deps = {name: version for name, version in manifest.get("resolved", {}).items() if name not in packages}
    return requirements, deps


def update(path: str, build: Callable[[dict[str, Any] | None], dict[str, Any]]) -> tuple[dict[str, Any] | None, bool]:
    """Write ``build(manifest as it is now)`` at ``path`` unless it records the same; (the manifest, written).

    Read and written under the folder's lock: a run that installed meanwhile on the same container keeps
    its entries (the manifest read at the start of a run may be stale by the time it records)."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with locked(os.path.join(folder, ".lock")):
            current = load(path)
            wanted = build(current)
            if same_record(current, wanted):
                return current, False
            wanted = dict(wanted, updated_at=utc_timestamp())
            atomic_write(path, (json.dumps(wanted, indent=2, sort_keys=True) + "\n").encode(), 0o600)
    except OSError as exc:
        raise ManifestError(f"cannot write the package manifest {path}: {exc}") from None
    return wanted, True


def nothing_recorded(container: str, path: str) -> dict[str, Any]:
    """The result of a reinstall for a container with no manifest at ``path``: nothing to do."""
    return {"changed": False, "container": container, "installed": [], "removed_denied": [], "kept_denied": [],
            "manifest_path": path, "notes": [f"no package manifest at {path}: nothing recorded to reinstall"]}
