# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The constraint set container_pip resolves and installs with.

Private to this collection. It starts from the image's own constraint file
(NGC images ship ``/etc/pip/constraint.txt`` and point ``PIP_CONSTRAINT`` at
it) and pins, at exactly the installed version, every installed package that
is either in that file or in the torch family. The installed version wins
over the file's: it is what the image's binaries were built against. Lines
of the file for packages that are not installed, and its options, are kept;
nested ``-c``/``-r`` references are made absolute so they still resolve from
wherever the set is written.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical, requirement_name

HEADER = "# Written by spark_control.audio.container_pip for one pip run; removed afterwards."
_EXACT = re.compile(r"===?\s*([^\s,;]+)")
_INCLUDE = re.compile(r"^(-c|-r|--constraint|--requirement)(\s*=?\s*|\s+)(?P<path>\S+)\s*$")


@dataclass
class ConstraintSet:
    """What to constrain a pip run with, and why."""

    pins: dict[str, str] = field(default_factory=dict)        # canonical name -> installed version
    names: dict[str, str] = field(default_factory=dict)       # canonical name -> name as installed
    image_file: str | None = None
    image_lines: list[str] = field(default_factory=list)      # kept lines of the image's file
    extra: dict[str, str] = field(default_factory=dict)       # canonical name -> exact version (recorded deps)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [HEADER]
        lines.append("# Installed torch family and image-pinned packages, at their installed versions:")
        lines += [f"{self.names[name]}=={self.pins[name]}" for name in sorted(self.pins)]
        if self.image_lines:
            lines.append(f"# Kept from {self.image_file}:")
            lines += self.image_lines
        if self.extra:
            lines.append("# Versions recorded in the container's package manifest:")
            lines += [f"{name}=={version}" for name, version in sorted(self.extra.items())]
        return "\n".join(lines) + "\n"


def _strip_comment(line: str) -> str:
    # pip treats " #" (and a leading "#") as the start of a comment.
    if line.lstrip().startswith("#"):
        return ""
    return re.split(r"\s+#", line, maxsplit=1)[0].strip()


def build(image_text: str | None, image_file: str | None, installed: dict[str, tuple[str, str]],
          family: list[str], extra: dict[str, str] | None = None) -> ConstraintSet:
    """Build the set.

    ``installed`` maps canonical name -> (name, version) as pip lists them;
    ``family`` are the names to pin whenever installed (torch, torchvision...);
    ``extra`` are exact versions to hold besides (recorded dependencies).
    """
    result = ConstraintSet(image_file=image_file)
    pinned_names = {canonical(name) for name in family}
    image_pins: dict[str, str] = {}
    for raw in (image_text or "").splitlines():
        line = _strip_comment(raw)
        if not line:
            continue
        include = _INCLUDE.match(line)
        if include:
            path = include.group("path")
            if image_file and not path.startswith("/") and "://" not in path:
                path = posixpath.normpath(posixpath.join(posixpath.dirname(image_file), path))
            result.image_lines.append(f"{include.group(1)} {path}")
            continue
        if line.startswith("-"):
            result.image_lines.append(line)
            continue
        name = requirement_name(line)
        if name in installed:
            pinned_names.add(name)
            image_pins[name] = line
        else:
            result.image_lines.append(line)
    for name in sorted(pinned_names):
        if name not in installed:
            continue
        dist_name, version = installed[name]
        result.pins[name] = version
        result.names[name] = dist_name
        exact = _EXACT.search(image_pins.get(name, ""))
        if exact and exact.group(1) != version:
            result.warnings.append(
                f"{image_file} pins {image_pins[name]!r} but {dist_name} {version} is installed: "
                "pinning the installed version (the one the image's binaries were built against)"
            )
    for name, version in (extra or {}).items():
        if name not in result.pins:
            result.extra[name] = version
    return result
