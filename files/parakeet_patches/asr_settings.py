"""Overlay settings, all from environment variables (see docs/overlay.md)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass


class SettingsError(ValueError):
    """An environment variable holds a value the overlay cannot use."""


def _number(env: dict, name: str, default: float, low: float, kind=float):
    raw = env.get(name, "").strip()
    if not raw:
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < low:
        raise SettingsError(f"{name}={raw!r} must be at least {low}")
    return value


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def switch(raw: str, default: bool) -> bool:
    """The one on/off parser (settings and form fields): empty gives ``default``;
    anything unknown raises ValueError."""
    word = str(raw).strip().lower()
    if not word:
        return default
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise ValueError(f"{raw!r} is neither on nor off")


def _switch(env: dict, name: str, default: bool) -> bool:
    try:
        return switch(env.get(name, ""), default)
    except ValueError:
        raise SettingsError(f"{name}={env[name]!r}: use on or off") from None


# ASR_ENGINE: a built-in name, or an operator's engine class as "module:Class"
# (importable from sys.path, constructed with the Settings; see docs/overlay.md).
BUILT_IN_ENGINES = ("nemo", "cpu")
_PLUGIN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _engine(env: dict) -> str:
    raw = env.get("ASR_ENGINE", "").strip() or "nemo"
    if raw.lower() in BUILT_IN_ENGINES:
        return raw.lower()
    if _PLUGIN.match(raw):
        return raw
    raise SettingsError(f"ASR_ENGINE={raw!r}: use nemo (production), cpu (reference engine) or "
                        f"module:Class (an engine of your own)")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8010
    engine: str = "nemo"
    model_id: str = "parakeet-tdt-0.6b-v2"
    queue_depth: int = 8
    queue_timeout: float = 60.0
    decode_timeout: float = 300.0
    max_upload_bytes: int = 25 * 1024 * 1024
    max_audio_seconds: float = 1440.0
    # Source samples (frames x channels) a file may decode: 24 min of 48 kHz stereo.
    max_source_samples: int = 140_000_000
    body_timeout: float = 120.0
    decode_concurrency: int = 2
    decode_wait: float = 30.0
    cuda_graphs: bool = False
    languages: tuple[str, ...] = ("en",)
    nemo_asr_model: str = "nvidia/parakeet-tdt-0.6b-v2"
    nemo_diar_model: str = "nvidia/diar_sortformer_4spk-v1"
    device: str = "cuda"
    cpu_threads: int = 0
    warmup_retry: float = 30.0


def load(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    engine = _engine(env)
    model_id = env.get("STT_MODEL_ID", "").strip() or "parakeet-tdt-0.6b-v2"
    languages = tuple(x.strip().lower() for x in env.get("ASR_LANGUAGES", "en").split(",") if x.strip())
    return Settings(
        host=env.get("ASR_HOST", "127.0.0.1").strip() or "127.0.0.1",
        port=_number(env, "ASR_PORT", 8010, 1, int),
        engine=engine,
        model_id=model_id,
        queue_depth=_number(env, "ASR_QUEUE_DEPTH", 8, 1, int),
        queue_timeout=_number(env, "ASR_QUEUE_TIMEOUT", 60.0, 0.1),
        decode_timeout=_number(env, "ASR_DECODE_TIMEOUT", 300.0, 0.1),
        max_upload_bytes=int(_number(env, "ASR_MAX_UPLOAD_MB", 25.0, 0.01) * 1024 * 1024),
        max_audio_seconds=_number(env, "ASR_MAX_AUDIO_SECONDS", 1440.0, 0.1),
        max_source_samples=int(_number(env, "ASR_MAX_SOURCE_MSAMPLES", 140.0, 0.01) * 1_000_000),
        body_timeout=_number(env, "ASR_BODY_TIMEOUT_S", 120.0, 0.1),
        decode_concurrency=_number(env, "ASR_DECODE_CONCURRENCY", 2, 1, int),
        decode_wait=_number(env, "ASR_DECODE_WAIT_S", 30.0, 0.0),
        cuda_graphs=_switch(env, "ASR_CUDA_GRAPHS", False),
        languages=languages or ("en",),
        nemo_asr_model=env.get("ASR_NEMO_MODEL", "").strip() or f"nvidia/{model_id}",
        nemo_diar_model=env.get("DIAR_NEMO_MODEL", "").strip() or "nvidia/diar_sortformer_4spk-v1",
        device=env.get("ASR_DEVICE", "cuda").strip() or "cuda",
        cpu_threads=_number(env, "ASR_CPU_THREADS", 0, 0, int),
        warmup_retry=_number(env, "ASR_WARMUP_RETRY_S", 30.0, 0.1),
    )
