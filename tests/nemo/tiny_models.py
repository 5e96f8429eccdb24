"""Tiny random-weight NeMo models, built with NeMo's own classes and saved
with ``save_to()``: the engine restores them like any downloaded ``.nemo``.

Nothing is trained and nothing is downloaded. Built models are cached per
NeMo version and per content of what went into them (configs, tokenizer
text, this file), so a re-run restores instead of building, and a change to
any of them builds afresh.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "configs"
ASR_CONFIG = CONFIGS / "fastconformer_tdt_tiny.yaml"
DIAR_CONFIG = CONFIGS / "sortformer_4spk_tiny.yaml"
AUDIO = HERE.parents[1] / "files" / "audio"
VOCAB_SIZE = 64


def _corpus() -> str:
    """The fixtures' reference transcripts, one sentence a line (tokenizer text)."""
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(AUDIO.glob("*.txt")))
    sentences = [s.strip() for s in text.replace("?", ".").replace("!", ".").split(".")]
    return "\n".join(s for s in sentences if s) + "\n"


def cache_key(nemo_version: str) -> str:
    digest = hashlib.sha256()
    for part in (ASR_CONFIG.read_bytes(), DIAR_CONFIG.read_bytes(), _corpus().encode(),
                 Path(__file__).read_bytes(), str(VOCAB_SIZE).encode()):
        digest.update(hashlib.sha256(part).digest())
    return f"nemo-{nemo_version}-{digest.hexdigest()[:16]}"


def _tokenizer(workdir: Path) -> Path:
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    corpus = workdir / "corpus.txt"
    corpus.write_text(_corpus(), encoding="utf-8")
    out = workdir / "tokenizer"
    # create_spt_model also writes the vocab.txt NeMo's BPE tokenizer config wants beside the model.
    create_spt_model(str(corpus), VOCAB_SIZE, sample_size=-1, do_lower_case=True, tokenizer_type="bpe",
                     output_dir=str(out))
    return out


def _build_asr(workdir: Path, target: Path) -> None:
    from nemo.collections.asr.models import EncDecRNNTBPEModel
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ASR_CONFIG)
    cfg.tokenizer.dir = str(_tokenizer(workdir))
    EncDecRNNTBPEModel(cfg=cfg).save_to(str(target))


def _build_diar(target: Path) -> None:
    from nemo.collections.asr.models import SortformerEncLabelModel
    from omegaconf import OmegaConf

    SortformerEncLabelModel(cfg=OmegaConf.load(DIAR_CONFIG)).save_to(str(target))


def ensure(cache_root: Path) -> tuple[Path, Path]:
    """Paths of the ASR and diarizer ``.nemo`` files, built once per key."""
    import nemo
    import torch

    folder = cache_root / cache_key(nemo.__version__)
    asr, diar = folder / "asr_tdt.nemo", folder / "diar_sortformer.nemo"
    if asr.is_file() and diar.is_file():
        return asr, diar
    cache_root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    # Built in a scratch folder and renamed into place, so an interrupted
    # build never leaves a half-written model that a re-run would trust.
    work = Path(tempfile.mkdtemp(prefix="build-", dir=cache_root))
    try:
        staged = work / "models"
        staged.mkdir()
        _build_asr(work, staged / asr.name)
        _build_diar(staged / diar.name)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staged, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return asr, diar
