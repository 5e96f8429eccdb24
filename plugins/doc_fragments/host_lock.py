# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    # The per-audio-host lock the action plugin takes on the controller (module_utils/_lock_options.py).
    DOCUMENTATION = r"""
options:
  lock_dir:
    description:
      - Directory B(on the controller) for the per-host lock files. Created sticky and world-writable so that
        different users (a timer's service user, a person) share the locks.
      - Default is C(/var/lock/spark_control_audio), or the temporary directory where C(/var/lock) is missing.
    type: path
  lock_key:
    description: Name of the lock; default is the target's C(inventory_hostname).
    type: str
  lock_timeout:
    description: Seconds to wait for another run that sends audio to the same host to finish before failing.
    type: float
    default: 1800
"""
