"""Give the bench's parakeet-asr image the pip setup of an NGC PyTorch image.

Run once at image build time with the image's venv python:

* installs stand-ins for the torch family listed in ``torch-family.txt``
  (tiny pure-Python distributions; what matters is pip's view of them:
  names, NGC local versions such as ``2.9.0a0+<hash>.nv25.10``, dependencies);
* writes ``/etc/pip/constraint.txt`` pinning them, plus numpy as installed
  (NGC's file pins packages built with torch, not only torch itself).

The Dockerfile then sets ``PIP_CONSTRAINT=/etc/pip/constraint.txt`` the way
NGC images do. Standard library only: the venv has no setuptools/wheel to
build with, and the build has no network.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import wheelmaker  # noqa: E402  (sits next to this script)

CONSTRAINT = Path("/etc/pip/constraint.txt")
# Packages the image had before, pinned as installed (NGC pins its own builds).
ALSO_PINNED = ["numpy"]


def family() -> list[tuple[str, str, list[str]]]:
    out = []
    for line in (HERE / "torch-family.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pin, _unused, requires = line.partition(";")
        name, _unused, version = pin.strip().partition("==")
        out.append((name, version, [r.strip() for r in requires.split(",") if r.strip()]))
    return out


def module_files(name: str, version: str) -> dict[str, str]:
    pkg = name.replace("-", "_")
    init = (
        f'"""Bench stand-in for NGC\'s {name} (pip metadata is what matters)."""\n'
        f"__version__ = {version!r}\n"
    )
    files = {f"{pkg}/__init__.py": init}
    if name == "torch":
        files["torch/__init__.py"] += "from . import cuda, version  # noqa: F401,E402\n"
        files["torch/cuda.py"] = "def is_available() -> bool:\n    return False\n"
        files["torch/version.py"] = f"__version__ = {version!r}\ncuda = '13.0'\n"
    return files


def main() -> int:
    members = family()
    with tempfile.TemporaryDirectory() as tmp:
        for name, version, requires in members:
            wheelmaker.write_wheel(tmp, name, version, module_files(name, version), requires,
                                   summary=f"NGC {name} stand-in of the spark bench")
        subprocess.run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-index",
                        "--find-links", tmp, *[f"{n}=={v}" for n, v, _unused in members]], check=True)
    pins = [f"{n}=={v}" for n, v, _unused in members]
    pins += [f"{n}=={metadata.version(n)}" for n in ALSO_PINNED]
    CONSTRAINT.parent.mkdir(parents=True, exist_ok=True)
    CONSTRAINT.write_text(
        "# Pins of the packages built into this image (spark bench stand-in of\n"
        "# NGC's /etc/pip/constraint.txt). PIP_CONSTRAINT points here.\n"
        + "\n".join(pins) + "\n"
    )
    print(CONSTRAINT.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
