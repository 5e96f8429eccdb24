# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes that send no audio: liveness, catalogue, overlay drift.

Private to this collection. Each function takes the run's ``Settings`` and
returns a details dict, or raises ``Fail`` naming what broke.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpFailure
from ansible_collections.spark_control.audio.plugins.module_utils._health.http_calls import call, json_body
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import REMEDY_REAPPLY, Fail, Settings

OVERLAY_MISSING = f"overlay missing after container recreate: {REMEDY_REAPPLY}"


def liveness(settings: Settings) -> dict[str, Any]:
    """Every service named in the options answers; Spark Control's own view too."""
    services: dict[str, Any] = {}
    down = []
    checks = [("stt", settings.stt_url, "/health"), ("tts", settings.tts_url, "/health"),
              ("control", settings.control_url, "/api/status")]
    for name, base, path in checks:
        if not base:
            continue
        try:
            reply = settings.client.request("GET", base + path)
            services[name] = {"url": base, "status": reply.status, "up": reply.status == 200}
        except HttpFailure as exc:
            services[name] = {"url": base, "up": False, "error": str(exc)}
        if not services[name]["up"]:
            down.append(f"{name} ({base}{path}: {services[name].get('error') or services[name].get('status')})")
        elif name == "control":
            # Spark Control checks the services behind it, which may be unreachable from here.
            try:
                seen = reply.json().get("services", {})
            except (ValueError, UnicodeDecodeError, AttributeError):
                seen = {}
            for backend, info in sorted(seen.items()):
                if isinstance(info, dict) and info.get("up") is False:
                    down.append(f"{backend} (Spark Control reports {info.get('url', '?')} down)")
            services[name]["backends"] = seen
    if down:
        raise Fail("service_down", "down: " + "; ".join(down) + ": is the container running?", services=services)
    return {"services": services}


def voice_ids(body: Any) -> list[str]:
    """Voice names from a /v1/audio/voices answer: Kokoro-FastAPI lists plain
    names; some releases list {"id": ..., "name": ...} objects."""
    voices = body.get("voices") if isinstance(body, dict) else None
    if not isinstance(voices, list):
        return []
    ids = [v.get("id") or v.get("name") if isinstance(v, dict) else v for v in voices]
    return [v for v in ids if isinstance(v, str) and v]


def catalogue(settings: Settings) -> dict[str, Any]:
    """Spark Control lists the STT model and every voice; the LLM in use is reported."""
    details: dict[str, Any] = {}
    if settings.control_url:
        url = settings.control_url + "/v1/models"
        body = json_body(call(settings, "GET", url), url)
        ids = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
        status_url = settings.control_url + "/api/status"
        status = json_body(call(settings, "GET", status_url), status_url)
        vllm = status.get("vllm") if isinstance(status, dict) else None
        details["llm_model"] = (vllm or {}).get("current_model") if isinstance(vllm, dict) else None
        source = url
    else:
        stt_models = settings.stt_url + "/v1/models"
        voices_url = settings.tts_url + "/v1/audio/voices"
        body = json_body(call(settings, "GET", stt_models), stt_models)
        ids = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
        voices = json_body(call(settings, "GET", voices_url), voices_url)
        ids += voice_ids(voices)
        source = f"{stt_models} and {voices_url}"
    details["models"] = ids
    missing = [m for m in [settings.stt_model, *settings.voices] if m not in ids]
    if missing:
        raise Fail("catalogue_missing", f"{source} does not list {', '.join(missing)}", **details)
    return details


def overlay(settings: Settings) -> dict[str, Any]:
    """The overlay the STT server loaded equals the files the collection ships."""
    if not settings.stt_url:
        raise Fail("config", "the overlay probe needs stt_url: Spark Control does not proxy /overlay")
    if not settings.expected_overlay:
        raise Fail("config", "the overlay probe needs expected_overlay (file name -> sha256); the action "
                             "plugin fills it from overlay_dir")
    url = settings.stt_url + "/overlay"
    reply = call(settings, "GET", url, expect=(200, 404))
    if reply.status == 404:
        raise Fail("overlay_missing", OVERLAY_MISSING, url=url)
    live = json_body(reply, url)
    files = live.get("files") if isinstance(live, dict) else None
    if not isinstance(files, dict):
        raise Fail("bad_response", f"{url} answered without a 'files' map: {str(live)[:200]}", url=url)
    expected = settings.expected_overlay
    differ = sorted(n for n in expected if n in files and files[n] != expected[n])
    missing = sorted(n for n in expected if n not in files)
    extra = sorted(n for n in files if n not in expected)
    details = {"version": live.get("version"), "differ": differ, "missing": missing, "extra": extra}
    if differ or missing or extra:
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("differ", differ), ("missing", missing), ("not shipped", extra)) if names]
        raise Fail("overlay_drift", f"overlay drift ({'; '.join(parts)}): {REMEDY_REAPPLY}", **details)
    return details
