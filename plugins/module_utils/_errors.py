# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type modules report.

Private to this collection. Every failure a module_utils piece raises for a
module to report is a ``CollectionError``: its message says what is wrong and
what to do, and ``result`` carries the fields the module returns beside the
message. So a module's ``main()`` catches this one class and calls
``fail_json(msg=str(exc), **exc.result)``; anything else is a bug.
"""
from __future__ import annotations

from typing import Any


class CollectionError(Exception):
    """A failure with a message fit for fail_json and the result to return with it."""

    def __init__(self, message: str, **result: Any) -> None:
        super().__init__(message)
        self.result: dict[str, Any] = {"changed": False, **result}
