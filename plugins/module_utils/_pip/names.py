# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Package names, requirement strings and versions, as pip sees them.

Private to this collection. The one place container_pip parses them, with
``packaging`` (the library pip itself vendors): names are PEP 503
normalised, requirements are PEP 508 parsed and checked for the shapes
container_pip accepts (a name, optional extras, version specifiers, a
marker; no URLs, paths or archive files, which would bypass the index and
its checks), and versions are PEP 440 compared to word a change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

try:
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as _Parsed
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError as exc:
    _deps.missing("packaging", exc)

# A project name at the start of free text (pip's output: "x 1.0 depends on y").
_LEADING_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
# PEP 508 project names, and dotted Python module names (identifiers, ASCII here as on an index).
_PROJECT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
# What pip takes as a local file rather than a project name.
_ARCHIVES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


def canonical(name: str) -> str:
    """PEP 503 normalised project name: ``Cuda_Python`` -> ``cuda-python``."""
    return str(canonicalize_name(name))


def is_project_name(text: str) -> bool:
    return bool(_PROJECT.match(text or ""))


def is_module_name(text: str) -> bool:
    return bool(_MODULE.match(text or ""))


def leading_name(text: str) -> str | None:
    """The project name a requirement-like string or output line starts with, canonical, or None."""
    match = _LEADING_NAME.match(text)
    return canonical(match.group(1)) if match else None


def requirement_name(text: str) -> str | None:
    """Canonical name of a requirement line (constraint files, metadata), or None if it is not one."""
    try:
        return canonical(_Parsed(text).name)
    except InvalidRequirement:
        return leading_name(text)


@dataclass(frozen=True)
class Requirement:
    """One requirement as given by the user, checked."""

    text: str
    name: str
    specifier: str
    extras: tuple[str, ...] = ()

    @property
    def canonical(self) -> str:
        return canonical(self.name)


class RequirementError(CollectionError):
    """A requirement string container_pip does not accept; the message says why."""


def parse_requirement(text: str) -> Requirement:
    raw = (text or "").strip()
    if not raw:
        raise RequirementError("empty requirement: give a package name such as 'sentencepiece==0.2.0'")
    if raw.startswith("-"):
        raise RequirementError(
            f"{raw!r} looks like a pip option, not a requirement: pass index settings through the module's "
            "options (index_url, find_links...) instead"
        )
    head = raw.split(";", 1)[0].strip()
    if ("://" in raw or raw.startswith((".", "/", "~")) or "/" in head or "\\" in head
            or head.lower().endswith(_ARCHIVES)):
        raise RequirementError(
            f"{raw!r} is a direct reference (URL, path or archive file): container_pip installs from an index or "
            "find-links location only, so that the resolution can be checked first; publish the package there"
        )
    try:
        parsed = _Parsed(raw)
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0]
        raise RequirementError(f"{raw!r} is not a valid requirement ({first}): expected e.g. 'name', 'name==1.2', "
                               "'name[extra]>=1,<2' or 'name; python_version >= \"3.10\"'") from None
    if parsed.url:
        raise RequirementError(
            f"{raw!r} is a direct reference (URL): container_pip installs from an index or find-links location "
            "only, so that the resolution can be checked first; publish the package there"
        )
    return Requirement(text=raw, name=parsed.name, specifier=str(parsed.specifier), extras=tuple(sorted(parsed.extras)))


def _version(text: str | None):
    try:
        return Version(text or "")
    except InvalidVersion:
        return None


def change_word(old: str | None, new: str) -> str:
    """How installing ``new`` over ``old`` is called: install, upgrade, downgrade, replace or reinstall."""
    if old is None:
        return "install"
    before, after = _version(old), _version(new)
    if before is None or after is None:
        return "reinstall" if old == new else "replace"
    if before.public == after.public and before.local != after.local:
        # Same public version, another local build: e.g. an index's 2.9.0 over NGC's 2.9.0+nv25.10.
        return "replace"
    if after > before:
        return "upgrade"
    if after < before:
        return "downgrade"
    return "reinstall"
