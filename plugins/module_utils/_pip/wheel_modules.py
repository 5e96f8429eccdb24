# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a wheel would make importable, read from its file list.

Private to this collection. A wheel is a zip whose entries pip unpacks into
site-packages: the entries at its root, and those under
``<name>.data/purelib/`` and ``<name>.data/platlib/``; ``*.dist-info/`` and
the other ``.data`` folders (scripts, headers, data) are not importable.
Every folder on the way to a file is an importable package (a regular one,
or a namespace package when it has no ``__init__``), every ``.py``/``.so``
file a module. This is exact for what the wheel itself unpacks; unlike
``top_level.txt`` (setuptools-only, optional, and written by the package
author) it cannot be left out or be wrong. Code a wheel runs at start-up (a
``.pth`` file) can change ``sys.path`` in ways no file list shows: the import
check after installing covers that.
"""
from __future__ import annotations

import re

_DATA = re.compile(r"^[^/]+\.data/(purelib|platlib)/")
_MODULE_SUFFIX = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(\.[^./]*)?\.(py|pyc|pyd|so)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def site_paths(entries: list[str]) -> list[str]:
    """The wheel's entries as paths under site-packages (only those unpacked there)."""
    paths = []
    for entry in entries:
        data = _DATA.match(entry)
        if data:
            paths.append(entry[data.end():])
            continue
        top = entry.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")):
            continue
        paths.append(entry)
    return paths


def provided(entries: list[str]) -> dict[str, str]:
    """Dotted module name -> the first file that makes it importable."""
    found: dict[str, str] = {}
    for path in site_paths(entries):
        parts = path.split("/")
        dotted: list[str] = []
        for folder in parts[:-1]:
            if not _IDENTIFIER.match(folder):
                break
            dotted.append(folder)
            found.setdefault(".".join(dotted), path)
        else:
            module = _MODULE_SUFFIX.match(parts[-1])
            if module and module.group("name") != "__init__":
                found.setdefault(".".join(dotted + [module.group("name")]), path)
    return found


def denied(entries: list[str], modules: list[str]) -> list[tuple[str, str]]:
    """(denied module, file that provides it) for each of ``modules`` the wheel would make importable."""
    have = provided(entries)
    return [(module, have[module]) for module in modules if module in have]


def start_up_hooks(entries: list[str]) -> list[str]:
    """The ``.pth`` files the wheel unpacks into site-packages (run by every interpreter start)."""
    return [path for path in site_paths(entries) if "/" not in path and path.endswith(".pth")]
