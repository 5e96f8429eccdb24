# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of the per-audio-host lock (documented by the ``host_lock`` doc fragment).

Private to this collection. The action plugins of the modules that send audio
take the lock on the controller (``plugins/plugin_utils/_host_lock.py``) and
drop these options before the module runs; the modules list them so they are
validated and documented. Standard library only: the controller imports it.
"""
from __future__ import annotations

from typing import Any

LOCK_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "lock_dir": {"type": "path"},
    "lock_key": {"type": "str", "no_log": False},
    "lock_timeout": {"type": "float", "default": 1800},
}
