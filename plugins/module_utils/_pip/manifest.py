# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The package manifest of a container, kept on the managed host.

Private to this collection. ``docker rm`` loses every package pip put into a
container; the manifest (``<manifest_dir>/<container>.json``) remembers them
so they can be installed again, identically, after the container is
recreated. It records, per requested package, the requirement as given and
the version that got installed, plus the exact versions of the dependencies
that came with them (``resolved``), the pins in force at the time, and the
index options used (``sources``, without credentials: a reinstall uses them
unless given others). Writes are atomic, under a lock file
(``_state_files``); the manifest is 0600 in a folder made 0700: it names the
container's packages and index hosts, for the host's administrators only.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
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
    return manifest


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
    manifest["pins"] = dict(pins)
    return manifest


def same_record(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    keys = ("packages", "resolved", "pins", "sources")
    return a is not None and b is not None and all(a.get(k) == b.get(k) for k in keys)


def reinstall_plan(manifest: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(requirements pinned to the recorded versions, recorded dependency versions)."""
    packages = manifest.get("packages", {})
    requirements = [f"{name}=={info['version']}" for name, info in sorted(packages.items())]
    deps = {name: version for name, version in manifest.get("resolved", {}).items() if name not in packages}
    return requirements, deps


def save(path: str, manifest: dict[str, Any]) -> dict[str, Any]:
    folder = os.path.dirname(path)
    manifest = dict(manifest, updated_at=utc_timestamp())
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        with locked(os.path.join(folder, ".lock")):
            atomic_write(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(), 0o600)
    except OSError as exc:
        raise ManifestError(f"cannot write the package manifest {path}: {exc}") from None
    return manifest


def nothing_recorded(container: str, path: str) -> dict[str, Any]:
    """The result of a reinstall for a container with no manifest at ``path``: nothing to do."""
    return {"changed": False, "container": container, "installed": [], "removed_denied": [], "kept_denied": [],
            "manifest_path": path, "notes": [f"no package manifest at {path}: nothing recorded to reinstall"]}
