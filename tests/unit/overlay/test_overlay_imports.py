"""Every package the overlay imports is one the container already has.

The overlay is copied into an NGC PyTorch container with NeMo and nothing is
pip-installed for it (pip changes die with the container), so a new import
must come with NeMo's ASR stack: requirements/nemo3.txt and nemo2.txt are
the pinned closures of nemo_toolkit[asr] on the two NeMo lines. The cpu
engine's files run in the bench image instead, whose requirements must
carry what they import too. A module the overlay adds without either fails
here, not as a container that never gets ready.
"""
from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
OVERLAY = REPO / "files" / "parakeet_patches"
# Files only the cpu engine (bench, CI, hosts without a GPU) loads.
CPU_ENGINE = {"asr_engine_cpu.py", "asr_cpu_diarizer.py"}
# Import names whose distribution is named otherwise and is not installed in
# the dev venv (packages_distributions() knows only installed ones).
NOT_INSTALLED_HERE = {"nemo": "nemo-toolkit"}


def _imports(path: Path) -> set[str]:
    """Top-level names of the modules a file imports, at any depth (engines import lazily)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _third_party(files: list[Path]) -> set[str]:
    own = {p.stem for p in OVERLAY.glob("*.py")}
    return {n for f in files for n in _imports(f)} - own - set(sys.stdlib_module_names) - {"__future__"}


@cache
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _distribution(module: str) -> str:
    found = _installed().get(module)
    return _normalise(found[0] if found else NOT_INSTALLED_HERE.get(module, module))


def _pinned(requirements: Path) -> set[str]:
    names = set()
    for line in requirements.read_text().splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==", line)
        if match:
            names.add(_normalise(match.group(1)))
    return names


PRODUCTION = sorted(p for p in OVERLAY.glob("*.py") if p.name not in CPU_ENGINE)


def test_the_scan_sees_the_overlays_imports():
    """The scan itself works: it finds what main.py and asr_audio.py are known to import."""
    modules = _third_party(PRODUCTION)
    assert {"fastapi", "starlette", "uvicorn", "numpy", "soundfile", "soxr", "torch", "nemo"} <= modules
    assert "asr_audio" not in modules and "json" not in modules


@pytest.mark.parametrize("lock", ["nemo3.txt", "nemo2.txt"])
def test_the_production_overlay_imports_only_what_nemo_brings(lock):
    pinned = _pinned(REPO / "requirements" / lock)
    missing = {m: _distribution(m) for m in _third_party(PRODUCTION) if _distribution(m) not in pinned}
    assert not missing, (f"the overlay imports {missing} (module: distribution), which nemo_toolkit[asr] does not "
                         f"bring (requirements/{lock}): the NGC container would not have it")


def test_the_bench_image_has_what_every_overlay_file_imports():
    pinned = _pinned(REPO / "tests" / "bench" / "images" / "parakeet-asr" / "requirements.txt")
    # The nemo engine is never loaded in the bench image (it runs ASR_ENGINE=cpu).
    modules = _third_party([p for p in sorted(OVERLAY.glob("*.py")) if p.name != "asr_engine_nemo.py"])
    missing = {m: _distribution(m) for m in modules if _distribution(m) not in pinned}
    assert not missing, (f"overlay files import {missing} (module: distribution), which the bench's parakeet-asr "
                         f"image does not install: add it to tests/bench/images/parakeet-asr/requirements.txt")
