# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render audio_health results as JUnit XML and Prometheus text.

Private to this collection; used by the audio_health_* filters. Input is a
mapping of host name to the audio_health result of that host. JUnit: one
test suite per host, one test case per probe, a ``<failure>`` carrying the
failure code and message. Prometheus (textfile-collector format):
``spark_audio_probe_success`` and ``spark_audio_probe_duration_seconds`` per
host and probe, in the style of the blackbox exporter's ``probe_success``,
``spark_audio_probe_failure_info`` (failure code as a label),
``spark_audio_host_healthy``, ``spark_audio_llm_info`` and
``spark_audio_last_run_timestamp_seconds``. The alert rules in
``files/prometheus/spark_audio_alerts.yml`` read these names.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Mapping

PREFIX = "spark_audio_"


def _probes(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    probes = result.get("probes") if isinstance(result, Mapping) else None
    return [p for p in probes or [] if isinstance(p, Mapping)]


def _host_error(result: Mapping[str, Any]) -> str | None:
    """A host whose run produced no probes (unreachable, lock timeout, bad options)."""
    if _probes(result):
        return None
    return str(result.get("msg") or "the health run produced no probe results") if isinstance(result, Mapping) \
        else "no result"


def junit(results: Mapping[str, Mapping[str, Any]], name: str = "spark_control.audio.deep_health") -> str:
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "time": 0.0}
    for host in sorted(results):
        result = results[host]
        probes = _probes(result)
        error = _host_error(result)
        cases = probes or [{"name": "audio_health", "ok": False, "latency": 0.0, "failure": "no_result",
                            "message": error}]
        failures = sum(1 for p in cases if not p.get("ok"))
        seconds = sum(float(p.get("latency") or 0.0) for p in cases)
        suite = ET.SubElement(root, "testsuite", name=host, tests=str(len(cases)), failures=str(failures),
                              errors="0", time=f"{seconds:.3f}")
        for probe in cases:
            case = ET.SubElement(suite, "testcase", classname=f"audio_health.{host}", name=str(probe.get("name")),
                                 time=f"{float(probe.get('latency') or 0.0):.3f}")
            if not probe.get("ok"):
                failure = ET.SubElement(case, "failure", type=str(probe.get("failure") or "failed"),
                                        message=str(probe.get("message") or ""))
                failure.text = str(probe.get("message") or "")
        totals["tests"] += len(cases)
        totals["failures"] += failures
        totals["time"] += seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("time", f"{totals['time']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def prometheus(results: Mapping[str, Mapping[str, Any]], timestamp: float | None = None) -> str:
    """Textfile-collector metrics; every metric family has HELP and TYPE lines once."""
    families: dict[str, tuple[str, list[str]]] = {
        "probe_success": ("1 when the audio_health probe passed, 0 when it failed.", []),
        "probe_duration_seconds": ("Seconds the audio_health probe took, 503 retries included.", []),
        # An info metric: always 1, the failure code is in its label.
        "probe_failure_info": ("Failure code (label failure) of a failed audio_health probe, absent if it passed.", []),
        "host_healthy": ("1 when every audio_health probe of the host passed.", []),
        "llm_info": ("The LLM Spark Control reports in use (vllm.current_model).", []),
        "last_run_timestamp_seconds": ("Unix time the deep health run finished.", []),
    }
    for host in sorted(results):
        result = results[host]
        probes = _probes(result)
        for probe in probes:
            labels = _labels(host=host, probe=probe.get("name"))
            families["probe_success"][1].append(f"{PREFIX}probe_success{labels} {1 if probe.get('ok') else 0}")
            families["probe_duration_seconds"][1].append(
                f"{PREFIX}probe_duration_seconds{labels} {float(probe.get('latency') or 0.0):.3f}")
            if not probe.get("ok"):
                failed = _labels(host=host, probe=probe.get("name"), failure=probe.get("failure") or "failed")
                families["probe_failure_info"][1].append(f"{PREFIX}probe_failure_info{failed} 1")
        healthy = bool(probes) and all(p.get("ok") for p in probes)
        families["host_healthy"][1].append(f"{PREFIX}host_healthy{_labels(host=host)} {1 if healthy else 0}")
        llm = result.get("llm_model") if isinstance(result, Mapping) else None
        if llm:
            families["llm_info"][1].append(f"{PREFIX}llm_info{_labels(host=host, model=llm)} 1")
        if timestamp is not None:
            families["last_run_timestamp_seconds"][1].append(
                f"{PREFIX}last_run_timestamp_seconds{_labels(host=host)} {timestamp:.0f}")
    lines = []
    for name, (text, samples) in families.items():
        if not samples:
            continue
        lines += [f"# HELP {PREFIX}{name} {text}", f"# TYPE {PREFIX}{name} gauge", *samples]
    return "\n".join(lines) + "\n"


def all_healthy(results: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when there is at least one host and every host's probes all passed."""
    return bool(results) and all(
        bool(_probes(r)) and all(p.get("ok") for p in _probes(r)) for r in results.values())


def summary(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Readable lines: one per host verdict, then one per probe."""
    lines = []
    for host in sorted(results):
        result = results[host]
        probes = _probes(result)
        error = _host_error(result)
        if error:
            lines.append(f"{host}: NO RESULT: {error}")
            continue
        failed = [p for p in probes if not p.get("ok")]
        llm = result.get("llm_model")
        lines.append(f"{host}: {'HEALTHY' if not failed else 'UNHEALTHY'} ({len(probes) - len(failed)}/{len(probes)} "
                     f"probes passed{', LLM ' + str(llm) if llm else ''})")
        if result.get("remediated"):
            first = ", ".join(f"{name}: {code}" for name, code in sorted((result.get("first_failures") or {}).items()))
            done = [f"started {', '.join(result['started_containers'])}"] if result.get("started_containers") else []
            # Results from before the container start existed always meant a reapply.
            if result.get("reapplied_overlay", not done):
                done.append("reapplied the overlay")
            lines.append(f"  remediated: the first run failed ({first or 'unknown'}); {' and '.join(done)}; "
                         f"the probes below are from the second run")
        for problem in result.get("remediation_problems") or []:
            lines.append(f"  remediation problem: {problem}")
        for probe in probes:
            mark = "ok  " if probe.get("ok") else "FAIL"
            extra = "" if probe.get("ok") else f" [{probe.get('failure')}] {probe.get('message')}"
            lines.append(f"  {mark} {probe.get('name')} {float(probe.get('latency') or 0):.2f}s{extra}")
    return lines
