# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the JSON report of ``pip install --dry-run --report``.

Private to this collection. The report (pip >= 22.2) lists every
distribution pip would install, with its metadata and where it comes from.
Each becomes a ``Planned`` entry: name, version, whether the user asked for
it, whether it would be built from source (not a wheel), and the names it
requires in the container (markers evaluated in the environment pip reports
for the container's interpreter, with the extras asked for): used to explain
who pulls a package in, never to decide what is installed.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical, leading_name

try:
    from packaging.markers import InvalidMarker, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
except ImportError:  # recorded by _pip.names
    pass


class ReportError(CollectionError):
    """The report is missing or not what pip writes; the message says why."""


@dataclass(frozen=True)
class Planned:
    name: str
    version: str
    requested: bool
    source_build: bool
    url: str
    requires: tuple[str, ...] = ()
    sha256: str = ""  # of the file pip planned, when the index gave it

    @property
    def canonical(self) -> str:
        return canonical(self.name)

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "requested": self.requested,
                "source_build": self.source_build, "url": self.url}


def _is_wheel(download_info: dict) -> bool:
    if "dir_info" in download_info or "vcs_info" in download_info:
        return False
    path = urlsplit(download_info.get("url", "")).path
    return posixpath.basename(path).lower().endswith(".whl")


def _requires(metadata: dict, extras: list[str], environment: dict | None) -> tuple[str, ...]:
    """Names this distribution pulls in: requirements whose marker holds for the container."""
    names = []
    for text in metadata.get("requires_dist") or []:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            name = leading_name(text)
            if name:
                names.append(name)
            continue
        if req.marker is not None:
            try:
                active = any(req.marker.evaluate(dict(environment or {}, extra=extra)) for extra in ["", *extras])
            except (InvalidMarker, UndefinedEnvironmentName):
                active = True  # cannot tell: keep it, it only explains
            if not active:
                continue  # an optional extra, or not for this platform
        names.append(canonical(req.name))
    return tuple(names)


def parse(text: str | None) -> list[Planned]:
    if not text:
        raise ReportError("pip wrote no installation report: is pip in the container older than 22.2?")
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"pip's installation report is not JSON ({exc})") from None
    if not isinstance(report, dict) or not isinstance(report.get("install"), list):
        raise ReportError("pip's installation report has no 'install' list: unsupported pip report format")
    planned = []
    for item in report["install"]:
        metadata = item.get("metadata") or {}
        if not metadata.get("name") or not metadata.get("version"):
            raise ReportError(f"an entry of pip's installation report lacks name/version: {item!r:.200}")
        info = item.get("download_info") or {}
        archive = info.get("archive_info") or {}
        legacy = str(archive.get("hash") or "")  # pip < 23.1: "sha256=<hex>"
        sha256 = (archive.get("hashes") or {}).get("sha256") or (legacy[7:] if legacy.startswith("sha256=") else "")
        planned.append(Planned(
            sha256=str(sha256),
            name=metadata["name"], version=metadata["version"], requested=bool(item.get("requested")),
            source_build=not _is_wheel(info), url=info.get("url", ""),
            requires=_requires(metadata, item.get("requested_extras") or [], report.get("environment")),
        ))
    return planned
