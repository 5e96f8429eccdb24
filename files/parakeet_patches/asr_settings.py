"""Overlay settings, all from environment variables (see docs/overlay.md)."""
from __future__ import annotations

import os
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


def _switch(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise SettingsError(f"{name}={raw!r}: use on or off")


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
    cuda_graphs: bool = False
    languages: tuple[str, ...] = ("en",)
    nemo_asr_model: str = "nvidia/parakeet-tdt-0.6b-v2"
    nemo_diar_model: str = "nvidia/diar_sortformer_4spk-v1"
    device: str = "cuda"
    cpu_threads: int = 0
    warmup_retry: float = 30.0
    faults_path: str = "/run/spark-bench/faults.json"


def load(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    engine = env.get("ASR_ENGINE", "nemo").strip().lower() or "nemo"
    if engine not in ("nemo", "cpu"):
        raise SettingsError(f"ASR_ENGINE={engine!r}: use nemo (production) or cpu (reference engine)")
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
        cuda_graphs=_switch(env, "ASR_CUDA_GRAPHS", False),
        languages=languages or ("en",),
        nemo_asr_model=env.get("ASR_NEMO_MODEL", "").strip() or f"nvidia/{model_id}",
        nemo_diar_model=env.get("DIAR_NEMO_MODEL", "").strip() or "nvidia/diar_sortformer_4spk-v1",
        device=env.get("ASR_DEVICE", "cuda").strip() or "cuda",
        cpu_threads=_number(env, "ASR_CPU_THREADS", 0, 0, int),
        warmup_retry=_number(env, "ASR_WARMUP_RETRY_S", 30.0, 0.1),
        faults_path=env.get("SPARK_BENCH_FAULTS", "").strip() or "/run/spark-bench/faults.json",
    )
