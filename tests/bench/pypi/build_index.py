"""Build the local test index of container_pip from catalog.toml.

Writes a PEP 503 "simple" index (``<out>/simple/<project>/index.html`` with
sha256 fragments) and the files it links to (``<out>/files/``). Serve it with
``python3 -m http.server --bind 127.0.0.1 <port> --directory <out>``; pip
then uses ``--index-url http://127.0.0.1:<port>/simple/``.

Wheels and sdists are written with wheelmaker.py (standard library only),
which lives with the parakeet-asr image's NGC stand-ins because the image
build needs it too. Output is byte-for-byte reproducible.

Usage: build_index.py OUT_DIR
"""
from __future__ import annotations

import hashlib
import html
import json
import shutil
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHEELMAKER_DIR = HERE.parent / "images" / "parakeet-asr" / "ngc"
sys.path.insert(0, str(WHEELMAKER_DIR))
import wheelmaker  # noqa: E402

PYPROJECT = """[build-system]
requires = []
build-backend = "standin_backend"
backend-path = ["."]
"""


def catalog() -> list[dict]:
    return tomllib.loads((HERE / "catalog.toml").read_text())["package"]


def build_sdist(files_dir: Path, pkg: dict) -> str:
    spec = {"name": pkg["name"], "version": pkg["version"], "files": pkg["files"],
            "summary": pkg.get("summary", ""), "requires": pkg.get("requires", []),
            "build_imports_torch": pkg.get("build_imports_torch", False)}
    tree = {
        "pyproject.toml": PYPROJECT,
        "standin.json": json.dumps(spec, indent=1, sort_keys=True) + "\n",
        "standin_backend.py": (HERE / "standin_backend.py").read_text(),
        "wheelmaker.py": (WHEELMAKER_DIR / "wheelmaker.py").read_text(),
        "PKG-INFO": wheelmaker.metadata(pkg["name"], pkg["version"], [], pkg.get("summary", "")),
    } | pkg["files"]
    return wheelmaker.write_sdist(files_dir, pkg["name"], pkg["version"], tree)


def build(out: Path) -> dict[str, list[str]]:
    # Empty the folder but keep it: a server may have it bind-mounted.
    out.mkdir(parents=True, exist_ok=True)
    for child in ("simple", "files"):
        shutil.rmtree(out / child, ignore_errors=True)
    files_dir = out / "files"
    projects: dict[str, list[str]] = {}
    for pkg in catalog():
        if pkg.get("kind", "wheel") == "sdist":
            filename = build_sdist(files_dir, pkg)
        else:
            filename = wheelmaker.write_wheel(files_dir, pkg["name"], pkg["version"], pkg["files"],
                                              pkg.get("requires", []), pkg.get("summary", ""))
        projects.setdefault(wheelmaker.canonical(pkg["name"]), []).append(filename)
    simple = out / "simple"
    for project, filenames in projects.items():
        links = []
        for filename in sorted(filenames):
            digest = hashlib.sha256((files_dir / filename).read_bytes()).hexdigest()
            links.append(f'<a href="../../files/{html.escape(filename)}#sha256={digest}">'
                         f"{html.escape(filename)}</a><br>")
        page = simple / project / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<!DOCTYPE html>\n<html><body>\n{chr(10).join(links)}\n</body></html>\n")
    root = "\n".join(f'<a href="{p}/">{p}</a><br>' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{root}\n</body></html>\n")
    return projects


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    projects = build(Path(sys.argv[1]).resolve())
    for project, filenames in sorted(projects.items()):
        print(f"{project}: {', '.join(filenames)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
