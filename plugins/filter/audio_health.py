# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn audio_health results (host -> result) into reports."""
from __future__ import annotations

import math
import time
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.spark_control.audio.plugins.plugin_utils import _health_report


def _check(results: Any, name: str) -> dict[str, Any]:
    if not isinstance(results, dict):
        raise AnsibleFilterError(f"{name} expects a mapping of host name to audio_health result, "
                                 f"got {type(results).__name__}")
    return results


def audio_health_junit(results: Any, suite: str = "spark_control.audio.deep_health") -> str:
    return _health_report.junit(_check(results, "audio_health_junit"), suite)


def audio_health_prometheus(results: Any, timestamp: float | None = None) -> str:
    # The current time when none is given: time.time() is the epoch in every time zone, while a template's
    # now(utc=true).timestamp() is off by the controller's UTC offset (a naive datetime read as local time).
    checked = _check(results, "audio_health_prometheus")
    if timestamp is None:
        return _health_report.prometheus(checked, time.time())
    try:
        stamp = math.nan if isinstance(timestamp, bool) else float(timestamp)
    except (TypeError, ValueError):
        stamp = math.nan
    if not math.isfinite(stamp):
        raise AnsibleFilterError(f"audio_health_prometheus timestamp must be Unix seconds (a number), got "
                                 f"{timestamp!r} ({type(timestamp).__name__}): leave it out for the current time")
    return _health_report.prometheus(checked, stamp)


def audio_health_summary(results: Any) -> list[str]:
    return _health_report.summary(_check(results, "audio_health_summary"))


def audio_health_healthy(results: Any) -> bool:
    return _health_report.all_healthy(_check(results, "audio_health_healthy"))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "audio_health_junit": audio_health_junit,
            "audio_health_prometheus": audio_health_prometheus,
            "audio_health_summary": audio_health_summary,
            "audio_health_healthy": audio_health_healthy,
        }
