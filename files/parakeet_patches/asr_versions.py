"""Versions of the installed packages that decide the decode path.

Reported by GET /overlay (each engine's ``describe()``), so an operator can
see which NeMo serves and whether cuda-python / cuda-bindings is present
without a shell in the container.
"""
from __future__ import annotations

from importlib import metadata


def installed(name: str) -> str | None:
    """The installed distribution's version, or None when it is absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def of(*names: str) -> dict[str, str | None]:
    """``{name: version or None}``, keys spelt with underscores for JSON."""
    return {name.replace("-", "_"): installed(name) for name in names}
