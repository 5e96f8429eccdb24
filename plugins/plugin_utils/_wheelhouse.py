# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A wheelhouse for another machine, built on the controller.

Private to this collection (controller side). An air-gapped audio host gets
its Python packages as wheels that the controller downloads for the host's
platform (machine, glibc, CPython version) and copies over. The requirements
are a full pinned closure (``name==version`` per line), so each line is
fetched on its own (``pip download --no-deps``): a line without a wheel for
that platform is named, never hidden behind a resolver message. A pure-Python
project published only as an sdist (docopt) is built into a
``py3-none-any`` wheel here, which installs anywhere; one that would compile
is refused, since the host has no compiler and no index.

Uses only ansible-core's own dependency ``packaging`` (wheel names and tags).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._state_files import locked

try:
    from packaging.tags import Tag, compatible_tags, cpython_tags
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import InvalidVersion, Version
except ImportError as exc:  # ansible-core requires packaging; only a broken controller (or a bare import test) lacks it
    PACKAGING_ERROR: ImportError | None = exc
else:
    PACKAGING_ERROR = None

# The oldest manylinux baseline per machine (manylinux1 is glibc 2.5; aarch64 wheels start at manylinux2014).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
_LEGACY_ALIASES = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_PIN = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)==([^\s;#]+)$")
_SDIST = (".tar.gz", ".zip", ".tar.bz2", ".tgz")
# pip's words for "the index could not be reached" (urllib3 / requests / socket errors).
_UNREACHABLE = re.compile(r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
                          r"Name or service not known|Network is unreachable|Connection refused|ConnectTimeoutError|"
                          r"Read timed out|ProxyError|SSLError|No route to host")

Runner = Callable[[Sequence[str], int, Mapping[str, str]], "subprocess.CompletedProcess[str]"]


class WheelhouseError(CollectionError):
    """The wheelhouse cannot be built; the message names the package or the cause and what to do."""


@dataclass(frozen=True)
class Target:
    """The machine the wheels are for."""

    machine: str
    glibc: str
    python_version: str

    def describe(self) -> str:
        return f"{self.machine} / glibc {self.glibc} / CPython {self.python_version}"

    def key(self) -> str:
        return f"{self.machine}-glibc{self.glibc}-cp{self.python_version.replace('.', '')}"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def _need_packaging() -> None:
    if PACKAGING_ERROR is not None:
        raise WheelhouseError(f"the controller's Python lacks packaging ({PACKAGING_ERROR}), which ansible-core "
                              "requires: reinstall requirements/controller.txt")


def parse_pins(text: str, source: str = "the requirements") -> list[Pin]:
    """The ``name==version`` lines of a requirements file; anything else is refused, naming the line."""
    _need_packaging()
    pins = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise WheelhouseError(f"{source} line {number} ({line!r}) is not a name==version pin: a wheelhouse needs "
                                  "every package of the closure pinned exactly, one per line")
        pins.append(Pin(str(canonicalize_name(match.group(1))), match.group(2)))
    if not pins:
        raise WheelhouseError(f"{source} pins no package")
    return pins


def platforms(target: Target) -> list[str]:
    """pip ``--platform`` values for the target: every manylinux baseline its glibc can run, newest first."""
    if target.machine not in _OLDEST_GLIBC_MINOR:
        raise WheelhouseError(f"machine {target.machine!r} is not supported: x86_64 or aarch64")
    match = re.fullmatch(r"2\.(\d+)", target.glibc)
    if not match:
        raise WheelhouseError(f"glibc version {target.glibc!r} should look like 2.39")
    newest = int(match.group(1))
    if newest < _OLDEST_GLIBC_MINOR[target.machine]:
        raise WheelhouseError(f"glibc {target.glibc} is older than any manylinux baseline for {target.machine}")
    found = []
    for minor in range(newest, _OLDEST_GLIBC_MINOR[target.machine] - 1, -1):
        found.append(f"manylinux_2_{minor}_{target.machine}")
        if (2, minor) in _LEGACY_ALIASES:
            found.append(f"{_LEGACY_ALIASES[(2, minor)]}_{target.machine}")
    return found


def _python_tuple(version: str) -> tuple[int, int]:
    match = re.fullmatch(r"3\.(\d+)", version)
    if not match:
        raise WheelhouseError(f"python_version {version!r} should look like 3.12")
    return 3, int(match.group(1))


def supported_tags(target: Target) -> set["Tag"]:
    _need_packaging()
    python = _python_tuple(target.python_version)
    plats = platforms(target)
    return set(cpython_tags(python, platforms=plats)) | set(compatible_tags(python, f"cp{python[0]}{python[1]}", plats))


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def wheel_for(pin: Pin, names: list[str], tags: set["Tag"]) -> str | None:
    """The file among ``names`` that installs ``pin`` on the target, or None."""
    for name in sorted(names):
        if not name.endswith(".whl"):
            continue
        try:
            project, version, _build, wheel_tags = parse_wheel_filename(name)
        except InvalidWheelFilename:
            continue
        if project == pin.name and _same_version(str(version), pin.version) and wheel_tags & tags:
            return name
    return None


def missing(pins: list[Pin], folder: str, target: Target) -> list[Pin]:
    names = os.listdir(folder) if os.path.isdir(folder) else []
    tags = supported_tags(target)
    return [p for p in pins if wheel_for(p, names, tags) is None]


def _run(argv: Sequence[str], timeout: int, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False,
                              env={**os.environ, **env})
    except subprocess.TimeoutExpired:
        raise WheelhouseError(f"pip {argv[3] if len(argv) > 3 else ''} for {os.path.basename(argv[-1])} took longer "
                              f"than timeout={timeout} s and was stopped: raise timeout (a source build of a large "
                              "package can take many minutes) or check that the index answers") from None


def _pip_failure(pin: Pin, target: Target, done: subprocess.CompletedProcess[str]) -> WheelhouseError:
    output = f"{done.stdout}\n{done.stderr}"
    unreachable = _UNREACHABLE.search(output)
    if unreachable:
        return WheelhouseError(f"the controller cannot reach the package index to download {pin} "
                               f"({unreachable.group(0)}): check its pip configuration or give index_url")
    if "No matching distribution" in output or "Could not find a version" in output:
        return WheelhouseError(f"{pin} has no wheel for {target.describe()} (nor an sdist) on the index: pick a "
                               "version published for that platform")
    last = [line.strip() for line in output.splitlines() if line.strip()]
    return WheelhouseError(f"pip download {pin} failed: {last[-1] if last else f'exit code {done.returncode}'}")


@dataclass
class Outcome:
    wheels: list[str]
    fetched: list[str]
    built: list[str]


def build(pins: list[Pin], dest: str, target: Target, python: str, index: Mapping[str, str] | None = None,
          timeout: int = 600, run: Runner = _run) -> Outcome:
    """Download (or build, for pure-Python sdists) a wheel for every pin missing from ``dest``;
    ``index`` is pip's environment for the index options (``_pip_env.index_env``)."""
    index = dict(index or {})
    tags = supported_tags(target)
    os.makedirs(dest, exist_ok=True)
    fetched, built = [], []
    with locked(os.path.join(dest, ".lock"), what="the wheelhouse lock"):
        for pin in missing(pins, dest, target):
            with tempfile.TemporaryDirectory(dir=dest, prefix=".fetch-") as tmp:
                argv = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                        "--progress-bar", "off", "--dest", tmp, "--implementation", "cp",
                        "--python-version", target.python_version]
                for plat in platforms(target):
                    argv += ["--platform", plat]
                done = run([*argv, str(pin)], timeout, index)
                if done.returncode:
                    raise _pip_failure(pin, target, done)
                names = os.listdir(tmp)
                wheel = wheel_for(pin, names, tags)
                if wheel is None:
                    wheel = _build_pure(pin, tmp, [n for n in names if n.endswith(_SDIST)], target, python,
                                        index, timeout, run)
                    built.append(wheel)
                else:
                    fetched.append(wheel)
                os.replace(os.path.join(tmp, wheel), os.path.join(dest, wheel))
        names = os.listdir(dest)
        wheels = [wheel_for(p, names, tags) for p in pins]
    if None in wheels:
        raise WheelhouseError(f"{dest} still lacks a wheel for {pins[wheels.index(None)]}")
    return Outcome([w for w in wheels if w], fetched, built)


def archive(dest: str, wheels: list[str]) -> str:
    """One tar of exactly ``wheels`` (one transfer to the host instead of one per file), made once per set."""
    key = hashlib.sha256("\n".join(sorted(wheels)).encode()).hexdigest()[:16]
    path = os.path.join(dest, f"wheelhouse-{key}.tar")
    if os.path.exists(path):
        return path
    with locked(os.path.join(dest, ".lock"), what="the wheelhouse lock"):
        if os.path.exists(path):
            return path
        for old in os.listdir(dest):
            if old.startswith("wheelhouse-") and old.endswith(".tar"):
                os.unlink(os.path.join(dest, old))
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=".wheelhouse-", suffix=".tar")
        try:
            with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as tar:
                for name in sorted(wheels):
                    tar.add(os.path.join(dest, name), arcname=name)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    return path


def _build_pure(pin: Pin, tmp: str, sdists: list[str], target: Target, python: str, index: Mapping[str, str],
                timeout: int, run: Runner) -> str:
    if not sdists:
        raise WheelhouseError(f"{pin} has no wheel for {target.describe()} on the index")
    out = os.path.join(tmp, "built")
    done = run([python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "--progress-bar", "off",
                "--wheel-dir", out, os.path.join(tmp, sdists[0])], timeout, index)
    wheels = [n for n in (os.listdir(out) if os.path.isdir(out) else []) if n.endswith(".whl")]
    if done.returncode or not wheels:
        last = [line.strip() for line in f"{done.stdout}\n{done.stderr}".splitlines() if line.strip()]
        raise WheelhouseError(f"{pin} has no wheel for {target.describe()} on the index and its sdist did not build "
                              f"on the controller ({last[-1] if last else 'no wheel produced'}): pin a version that "
                              "publishes a wheel for that platform")
    _name, _version, _build, wheel_tags = parse_wheel_filename(wheels[0])
    if not all(t.abi == "none" and t.platform == "any" for t in wheel_tags):
        raise WheelhouseError(f"{pin} has no wheel for {target.describe()} on the index and is not pure Python "
                              f"(its sdist builds {wheels[0]}): it would have to be compiled on the audio host; "
                              "pin a version that publishes such a wheel")
    shutil.move(os.path.join(out, wheels[0]), os.path.join(tmp, wheels[0]))
    return wheels[0]
