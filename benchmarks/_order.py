"""The order the benchmarks' ways take turns in (shared by the bench scripts)."""
from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def turned(items: list[T], by: int) -> list[T]:
    """``items`` rotated left by ``by`` (modulo their count): round ``by``'s order, so every way takes every place."""
    by %= len(items)
    return items[by:] + items[:by]
