"""In-tree PEP 517 backend of the test index's source-only packages.

Standard library only (plus wheelmaker.py, copied next to it into each
sdist), so a build needs no setuptools and no network. The package's
``standin.json`` says what to build. With ``build_imports_torch`` the build
imports torch, as torchaudio's does, and the wheel then requires exactly the
torch it was built against: in an isolated build environment there is no
torch, so such a package only builds with ``--no-build-isolation``.
"""
from __future__ import annotations

import json
from pathlib import Path

import wheelmaker

_SPEC = json.loads(Path("standin.json").read_text())


def _requires() -> list[str]:
    requires = list(_SPEC.get("requires", []))
    if _SPEC.get("build_imports_torch"):
        import torch  # noqa: PLC0415  (the build environment's torch, on purpose)

        requires.append(f"torch=={torch.__version__}")
    return requires


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    files = wheelmaker.dist_info_files(_SPEC["name"], _SPEC["version"], _requires(), _SPEC.get("summary", ""))
    for path, text in files.items():
        target = Path(metadata_directory) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return next(iter(files)).split("/", 1)[0]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return wheelmaker.write_wheel(wheel_directory, _SPEC["name"], _SPEC["version"], _SPEC["files"],
                                  _requires(), _SPEC.get("summary", ""))


def build_sdist(sdist_directory, config_settings=None):
    raise NotImplementedError("bench stand-ins are shipped as sdists already")
