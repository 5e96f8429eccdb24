"""Build the bench images locally, with no registry.

* ``spark-bench/base``: a Debian bookworm rootfs from debootstrap, loaded with
  ``docker import``.
* one image per folder under ``tests/bench/images/`` (other than ``base``):
  its ``Dockerfile`` starts ``FROM ${BASE_IMAGE}``; the wheels named by its
  ``requirements.txt`` are built or downloaded on the host into a wheelhouse
  and reach the image through the build context (installed with
  ``--no-index``); the Debian packages named by its ``debs.txt`` (beyond
  what the base has) are downloaded by apt in a throwaway base container
  into ``.cache/debs/<image>/`` and reach the image the same way (installed
  with ``dpkg -i``, the build itself stays offline).
* ``images/_shared/`` (no Dockerfile, not an image): code the bench's servers
  share; an image whose Dockerfile copies ``_shared/`` gets the folder in its
  build context (and in its inputs hash).

Every image carries the label ``spark-bench.inputs`` with a hash of its
inputs; an image whose label already matches is not rebuilt, so a second run
costs a few ``docker inspect`` calls.

Usage: build_images.py [--force] [NAME ...]
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
SHARED = IMAGES / "_shared"
REPO = HERE.parents[1]
CACHE = Path(os.environ.get("SPARK_BENCH_CACHE", REPO / ".cache"))
LABEL = "spark-bench.inputs"
REPO_NAME = "spark-bench"
# Images other than the base carry this tag, so that a branch changing one can build and run its own.
TAG = os.environ.get("SPARK_BENCH_TAG", "latest")


def log(msg: str) -> None:
    print(f"build-images: {msg}", file=sys.stderr, flush=True)


def tree_hash(paths: list[Path], root: Path, seed: str = "") -> str:
    """Hash file names (relative to root), modes and contents in a stable order."""
    return inputs_hash({path.relative_to(root).as_posix(): path for path in paths}, seed)


def inputs_hash(inputs: dict[str, Path], seed: str = "") -> str:
    """Hash of name -> file pairs (names as the build context holds them), names in order."""
    h = hashlib.sha256(seed.encode())
    for rel in sorted(inputs):
        path = inputs[rel]
        h.update(rel.encode() + b"\0" + oct(path.stat().st_mode & 0o777).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def files_under(folder: Path) -> list[Path]:
    return [
        p for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    ]


def current_label(client: docker.DockerClient, ref: str) -> str | None:
    try:
        return (client.images.get(ref).labels or {}).get(LABEL)
    except ImageNotFound:
        return None


def build_base(client: docker.DockerClient, force: bool) -> str:
    folder = IMAGES / "base"
    digest = tree_hash(files_under(folder), folder)
    ref = f"{REPO_NAME}/base:latest"
    if not force and current_label(client, ref) == digest:
        log(f"{ref} is current ({digest[:12]})")
        return digest
    log(f"building {ref} with debootstrap (a few minutes)")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["bash", str(folder / "build-rootfs.sh"), str(tarball)], check=True)
        changes = [
            f"LABEL {LABEL}={digest}",
            "ENV LANG=C.UTF-8",
            'CMD ["/bin/bash"]',
        ]
        client.api.import_image_from_file(
            str(tarball), repository=f"{REPO_NAME}/base", tag="latest", changes=changes
        )
    log(f"{ref} built ({digest[:12]})")
    return digest


def wheelhouse(name: str, requirements: Path, python: str) -> Path:
    """Build or download every wheel the requirements need, on the host."""
    target = CACHE / "wheelhouse" / name
    target.mkdir(parents=True, exist_ok=True)
    log(f"{name}: collecting wheels into {target}")
    cmd = [python, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target),
           "--requirement", str(requirements)]
    # pip's own warnings about the host's index configuration are noise here;
    # show its output only when it fails.
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{name}: pip wheel failed:\n{done.stdout}{done.stderr}")
    return target


def debs(client: docker.DockerClient, name: str, listing: Path, base_digest: str) -> Path:
    """Download the listed Debian packages and what they need beyond the base image."""
    target = CACHE / "debs" / name
    stamp = target / ".inputs"
    digest = tree_hash([listing], listing.parent, seed=base_digest)
    if stamp.exists() and stamp.read_text() == digest:
        return target
    wanted = [line.strip() for line in listing.read_text().splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.deb"):
        old.unlink()
    log(f"{name}: downloading {', '.join(wanted)} and their dependencies into {target}")
    script = ("apt-get update -qq && apt-get install -y -qq --download-only --no-install-recommends "
              + " ".join(wanted))
    # Host networking only reaches Debian's mirror here, as debootstrap does for the base.
    client.containers.run(f"{REPO_NAME}/base:latest", ["sh", "-c", script], remove=True, network_mode="host",
                          volumes={str(target): {"bind": "/var/cache/apt/archives", "mode": "rw"}})
    if not list(target.glob("*.deb")):
        raise RuntimeError(f"{name}: apt downloaded no package for {wanted}")
    stamp.write_text(digest)
    return target


def uses_shared(folder: Path) -> bool:
    return "_shared/" in (folder / "Dockerfile").read_text()


def image_inputs(folder: Path) -> dict[str, Path]:
    """Build-context path -> file: the image's folder, plus ``_shared/`` when its Dockerfile copies it."""
    inputs = {path.relative_to(folder).as_posix(): path for path in files_under(folder)}
    if uses_shared(folder):
        inputs |= {f"_shared/{path.relative_to(SHARED).as_posix()}": path for path in files_under(SHARED)}
    return inputs


def build_context(folder: Path, wheels: Path | None, requirements: Path | None,
                  packages: Path | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        inputs = image_inputs(folder)
        for rel in sorted(inputs):
            tar.add(inputs[rel], arcname=rel)
        if packages is not None:
            for deb in sorted(packages.glob("*.deb")):
                tar.add(deb, arcname=f"debs/{deb.name}")
        wheel_dir = tarfile.TarInfo("wheels")
        wheel_dir.type = tarfile.DIRTYPE
        wheel_dir.mode = 0o755
        tar.addfile(wheel_dir)
        if wheels is not None and requirements is not None:
            wanted = requirements.read_text()
            for wheel in sorted(wheels.glob("*.whl")):
                tar.add(wheel, arcname=f"wheels/{wheel.name}")
            data = wanted.encode()
            info = tarfile.TarInfo("wheels/requirements.txt")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build_image(client: docker.DockerClient, name: str, base_digest: str,
                force: bool, python: str) -> None:
    folder = IMAGES / name
    ref = f"{REPO_NAME}/{name}:{TAG}"
    digest = inputs_hash(image_inputs(folder), base_digest)
    if not force and current_label(client, ref) == digest:
        log(f"{ref} is current ({digest[:12]})")
        return
    requirements = folder / "requirements.txt"
    wheels = wheelhouse(name, requirements, python) if requirements.exists() else None
    listing = folder / "debs.txt"
    packages = debs(client, name, listing, base_digest) if listing.exists() else None
    context = build_context(folder, wheels, requirements if wheels else None, packages)
    log(f"building {ref}")
    stream = client.api.build(
        fileobj=context, custom_context=True, tag=ref, rm=True, forcerm=True,
        buildargs={"BASE_IMAGE": f"{REPO_NAME}/base:latest"},
        labels={LABEL: digest}, network_mode="none", decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise RuntimeError(f"{ref}: {chunk['error'].strip()}")
        line = chunk.get("stream", "").rstrip()
        if line.startswith("Step "):
            log(f"{name}: {line}")
    log(f"{ref} built ({digest[:12]})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="images to build (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even when current")
    args = parser.parse_args()
    known = sorted(p.name for p in IMAGES.iterdir() if (p / "Dockerfile").exists())
    unknown = set(args.names) - set(known)
    if unknown:
        log(f"unknown image(s) {sorted(unknown)}; known: {known}")
        return 2
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        log(f"cannot reach the Docker engine ({exc}); run scripts/docker-engine.sh first")
        return 2
    try:
        base = build_base(client, args.force)
        for name in args.names or known:
            build_image(client, name, base, args.force, sys.executable)
    except (subprocess.CalledProcessError, RuntimeError, DockerException) as exc:
        log(f"failed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
