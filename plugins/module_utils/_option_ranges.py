# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ranges of numeric options, declared in one table per module.

Private to this collection. Ansible's argument spec checks types and
choices but has no range keyword, so each module declares its ranges next to
its argument spec (``{"timeout": Range(low=0, low_open=True)}``) and checks
them with ``problems(params, table)`` right after ``AnsibleModule`` (an
action plugin that reads options before the module does the same). Keys
name an option, or a suboption as ``option.sub`` (for a dict option or a
list of dicts). Every message names the option, the allowed range and the
value given. Standard library only: action plugins import it too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _num(value: float) -> str:
    """A bound or value as written: whole numbers exactly (4294967295, not 4.29497e+09)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Range:
    """Allowed values: ``low`` (excluded when ``low_open``) up to ``high`` (included); None is unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def describe(self) -> str:
        low = None if self.low is None else f"{'greater than' if self.low_open else 'at least'} {_num(self.low)}"
        if self.high is None:
            return low or "any number"
        if low is None:
            return f"at most {_num(self.high)}"
        if not self.low_open:
            return f"between {_num(self.low)} and {_num(self.high)}"
        return f"{low} and at most {_num(self.high)}"

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high


def _values(params: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    """(name for the message, value) of every occurrence of ``key`` in ``params``."""
    option, _dot, sub = key.partition(".")
    value = params.get(option)
    if not sub:
        return [(option, value)]
    if isinstance(value, dict):
        return [(key, value.get(sub))]
    if isinstance(value, list):
        return [(f"{option}[{i}].{sub}", item.get(sub)) for i, item in enumerate(value) if isinstance(item, dict)]
    return []


def problems(params: dict[str, Any], table: dict[str, Range]) -> list[str]:
    """One message per value out of its range (unset options are skipped)."""
    found = []
    for key, allowed in table.items():
        for name, value in _values(params, key):
            if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if not allowed.holds(value):
                found.append(f"{name} must be {allowed.describe()}, got {_num(value)}")
    return found
