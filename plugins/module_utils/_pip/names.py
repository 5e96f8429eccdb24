# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Package names, requirement strings and versions, as pip sees them.

Private to this collection. Parsing stays deliberately small (the managed
host's Python need not have ``packaging``): names are PEP 503 normalised,
requirements are checked for the shapes container_pip accepts (a name,
optional extras, optional version specifiers, optional marker; no URLs or
paths, which would bypass the index and its checks), and versions are
compared by their release numbers, enough to word "upgrade" or "downgrade".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REQUIREMENT = re.compile(
    rf"^(?P<name>{_NAME})\s*(?P<extras>\[[A-Za-z0-9._,\s-]*\])?\s*(?P<spec>[^;]*?)\s*(?:;\s*(?P<marker>.+))?$"
)
_SPEC_ITEM = re.compile(r"^(===|==|!=|~=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+$")
_RELEASE = re.compile(r"^\s*v?(?:\d+!)?(\d+(?:\.\d+)*)")
_LEADING_NAME = re.compile(rf"^\s*({_NAME})")


def canonical(name: str) -> str:
    """PEP 503 normalised project name: ``Cuda_Python`` -> ``cuda-python``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def leading_name(text: str) -> str | None:
    """The project name a requirement-like string starts with, canonical, or None."""
    match = _LEADING_NAME.match(text)
    return canonical(match.group(1)) if match else None


@dataclass(frozen=True)
class Requirement:
    """One requirement as given by the user, checked."""

    text: str
    name: str
    specifier: str

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
    if "@" in raw.split(";", 1)[0] or "://" in raw or raw.startswith((".", "/")):
        raise RequirementError(
            f"{raw!r} is a direct reference (URL or path): container_pip installs from an index or find-links "
            "location only, so that the resolution can be checked first; publish the package there"
        )
    match = _REQUIREMENT.match(raw)
    if not match:
        raise RequirementError(f"{raw!r} is not a requirement specifier (expected e.g. 'name', 'name==1.2', "
                               "'name[extra]>=1,<2')")
    spec = match.group("spec").strip()
    if spec:
        for item in spec.split(","):
            if not _SPEC_ITEM.match(item.strip()):
                raise RequirementError(f"{raw!r}: version specifier {item.strip()!r} is not valid "
                                       "(use ==, !=, >=, <=, >, <, ~= or ===)")
    return Requirement(text=raw, name=match.group("name"), specifier=spec)


def release(version: str) -> tuple[int, ...]:
    """Release numbers of a version (``2.9.0a0+abc.nv25.10`` -> ``(2, 9, 0)``)."""
    match = _RELEASE.match(version or "")
    if not match:
        return ()
    numbers = [int(part) for part in match.group(1).split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def change_word(old: str | None, new: str) -> str:
    """How installing ``new`` over ``old`` is called: install, upgrade, downgrade or reinstall."""
    if old is None:
        return "install"
    if release(new) > release(old):
        return "upgrade"
    if release(new) < release(old):
        return "downgrade"
    if new != old:
        # Same release numbers, other pre-release or local part: e.g. an index build over NGC's.
        return "replace"
    return "reinstall"
