"""Write tiny pure-Python wheels and sdists with the standard library only.

The bench needs distributions whose *pip metadata* looks like the real thing
(names, versions with NGC local parts, dependencies) without their weight.
This module is used in three places:

* the parakeet-asr image build (``install_standins.py``) writes the torch
  family stand-ins with it, where no setuptools/wheel is available;
* ``tests/bench/pypi/build_index.py`` (on the host) builds the local test
  index with it;
* the sdists of that index carry a copy of it for their in-tree PEP 517
  backend (``standin_backend.py``), so building them needs nothing else.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

# Fixed timestamp: rebuilding the same spec gives the same bytes.
EPOCH = (2025, 1, 1, 0, 0, 0)
EPOCH_SECONDS = 1735689600


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _escaped(name: str) -> str:
    """Name as it appears in wheel/sdist file names and dist-info folders."""
    return re.sub(r"[-_.]+", "_", name)


def metadata(name: str, version: str, requires: list[str], summary: str = "") -> str:
    """METADATA; an extra named in a requirement's marker (``; extra == "x"``) is declared with Provides-Extra."""
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        lines.append(f"Summary: {summary}")
    extras = dict.fromkeys(m for req in requires for m in re.findall(r"extra\s*==\s*[\"']([^\"']+)[\"']", req))
    lines += [f"Provides-Extra: {extra}" for extra in extras]
    lines += [f"Requires-Dist: {req}" for req in requires]
    return "\n".join(lines) + "\n"


def dist_info_files(name: str, version: str, requires: list[str], summary: str = "") -> dict[str, str]:
    """The dist-info files of a wheel, keyed by their path inside it."""
    info = f"{_escaped(name)}-{version}.dist-info"
    return {
        f"{info}/METADATA": metadata(name, version, requires, summary),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: spark-bench-wheelmaker\n"
                         "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(out_dir: str | Path, name: str, version: str, files: dict[str, str],
                requires: list[str] | None = None, summary: str = "") -> str:
    """Write ``<name>-<version>-py3-none-any.whl`` into out_dir; return its file name."""
    requires = requires or []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = dict(files) | dist_info_files(name, version, requires, summary)
    record_path = f"{_escaped(name)}-{version}.dist-info/RECORD"
    filename = f"{_escaped(name)}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(out_dir / filename, "w", zipfile.ZIP_DEFLATED) as whl:
        for path in sorted(entries):
            data = entries[path].encode()
            whl.writestr(zipfile.ZipInfo(path, EPOCH), data)
            record.append(_record_line(path, data))
        record.append(f"{record_path},,")
        whl.writestr(zipfile.ZipInfo(record_path, EPOCH), "\n".join(record) + "\n")
    return filename


def write_sdist(out_dir: str | Path, name: str, version: str, files: dict[str, str]) -> str:
    """Write ``<name>-<version>.tar.gz`` with files under its top folder; return its name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    top = f"{_escaped(name)}-{version}"
    filename = f"{top}.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(files):
            data = files[path].encode()
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, EPOCH_SECONDS
            tar.addfile(info, io.BytesIO(data))
    (out_dir / filename).write_bytes(gzip.compress(buf.getvalue(), mtime=0))
    return filename
