# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the container's Python and pip through ``docker exec`` (Docker SDK).

Private to this collection. Every command is an argv list (no shell). What
container_pip needs from inside the container: pip's version, the installed
distributions, a file's text, a scratch folder for the constraint file and
the report, pip runs, and import checks.
"""
from __future__ import annotations

import io
import json
import posixpath
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

try:  # requests comes with the docker SDK
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout
except ImportError:  # reported with the docker SDK (which brings requests) by _deps
    class RequestsConnectionError(Exception):  # type: ignore[no-redef]
        """requests' ConnectionError stand-in; never raised."""

    class ReadTimeout(Exception):  # type: ignore[no-redef]
        """requests' ReadTimeout stand-in; never raised."""

from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerException, NotFound, describe)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical

MIN_PIP = (22, 2)  # first pip with `install --dry-run --report`

# One process reads pip's version, every installed distribution in sys.path
# order and the wanted files, instead of `pip --version` + `pip list` + a
# read (benchmarks/container_pip_snapshot.py). Names are normalised on the host
# (_pip.names), where the first of each name wins, as for pip and import.
# With SPARK_FIND_MODULES set (comma-separated), it also says where each of
# those modules would be imported from, and which distributions own it, with
# find_spec and PathFinder: nothing is imported, no package code runs.
_SNAPSHOT = (
    "import importlib.machinery, importlib.metadata as md, importlib.util, json, os, sys\n"
    "sys.path[:] = [p for p in sys.path if p not in ('', '.')]\n"
    "out = {'pip': None, 'dists': [], 'files': {}}\n"
    "try:\n"
    "    import pip\n"
    "    out['pip'] = pip.__version__\n"
    "except Exception:\n"
    "    pass\n"
    "for dist in md.distributions():\n"
    "    if dist.metadata['Name']:\n"
    "        out['dists'].append([dist.metadata['Name'], dist.version])\n"
    "for path in sys.argv[1:]:\n"
    "    try:\n"
    "        out['files'][path] = open(path, encoding='utf-8').read()\n"
    "    except FileNotFoundError:\n"
    "        out['files'][path] = None\n"
    "def locate(name):\n"
    "    parts = name.split('.')\n"
    "    try:\n"
    "        spec = importlib.util.find_spec(parts[0])\n"
    "        for depth in range(2, len(parts) + 1):\n"
    "            if spec is None or not spec.submodule_search_locations:\n"
    "                return None\n"
    "            spec = importlib.machinery.PathFinder.find_spec('.'.join(parts[:depth]),\n"
    "                                                            list(spec.submodule_search_locations))\n"
    "    except (ImportError, ValueError):\n"
    "        return None\n"
    "    return spec\n"
    "wanted = [m for m in os.environ.get('SPARK_FIND_MODULES', '').split(',') if m]\n"
    "owners = md.packages_distributions() if wanted and hasattr(md, 'packages_distributions') else {}\n"
    "out['modules'] = {}\n"
    "for name in wanted:\n"
    "    spec = locate(name)\n"
    "    if spec is not None:\n"
    "        places = list(spec.submodule_search_locations or [])\n"
    "        origin = spec.origin if spec.origin not in (None, 'namespace') else (places[0] if places else '')\n"
    "        out['modules'][name] = {'origin': origin, 'dists': sorted(set(owners.get(name.split('.')[0], [])))}\n"
    "print(json.dumps(out))\n"
)
# Every file of each wheel in a folder (the entries pip would unpack).
_WHEEL_FILES = (
    "import json, os, sys, zipfile\n"
    "out = {}\n"
    "for name in sorted(os.listdir(sys.argv[1])):\n"
    "    if name.endswith('.whl'):\n"
    "        try:\n"
    "            with zipfile.ZipFile(os.path.join(sys.argv[1], name)) as whl:\n"
    "                out[name] = [entry for entry in whl.namelist() if not entry.endswith('/')]\n"
    "        except (OSError, zipfile.BadZipFile) as exc:\n"
    "            out[name] = f'{type(exc).__name__}: {exc}'\n"
    "print(json.dumps(out))\n"
)
_IMPORTS = (
    "import importlib, json, sys\n"
    "out = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "        out[name] = None\n"
    "    except BaseException as exc:\n"
    "        out[name] = f'{type(exc).__name__}: {exc}'\n"
    "print(json.dumps(out))\n"
)

# Reachability of the index and find-links locations pip looked in. A URL is
# split with urllib.parse and the connection goes to its host name, never to
# "user:password@host" (urllib.request would look that up in DNS); credentials
# come from the run's netrc file (NETRC), as for pip.
_PROBE = (
    "import base64, json, netrc, os, sys, urllib.parse, urllib.request\n"
    "try:\n"
    "    logins = netrc.netrc(os.environ['NETRC']) if os.environ.get('NETRC') else None\n"
    "except (OSError, netrc.NetrcParseError):\n"
    "    logins = None\n"
    "out = {}\n"
    "for url in sys.argv[1:]:\n"
    "    try:\n"
    "        parts = urllib.parse.urlsplit(url)\n"
    "        if parts.scheme in ('http', 'https'):\n"
    "            host = parts.hostname or ''\n"
    "            netloc = f'[{host}]' if ':' in host else host\n"
    "            if parts.port:\n"
    "                netloc += f':{parts.port}'\n"
    "            request = urllib.request.Request(urllib.parse.urlunsplit(\n"
    "                (parts.scheme, netloc, parts.path or '/', parts.query, '')))\n"
    "            login = logins.authenticators(host) if logins else None\n"
    "            if login:\n"
    "                pair = f'{login[0]}:{login[2]}'.encode()\n"
    "                request.add_header('Authorization', 'Basic ' + base64.b64encode(pair).decode())\n"
    "            urllib.request.build_opener().open(request, timeout=10).close()\n"
    "        elif not os.path.exists(parts.path if parts.scheme == 'file' else url):\n"
    "            raise FileNotFoundError('no such file or directory')\n"
    "        out[url] = None\n"
    "    except Exception as exc:\n"
    "        out[url] = f'{type(exc).__name__}: {getattr(exc, \"reason\", exc)}'\n"
    "print(json.dumps(out))\n"
)

# Which installed distributions require each named one (base requirements
# only: extras left out, markers evaluated in the container), so that a
# denied package the image's own stack needs (nemo_toolkit 3 requires
# cuda-bindings) can be told from a stray one.
_REQUIRED_BY = (
    "import importlib.metadata as md, json, sys\n"
    "try:\n"
    "    from packaging.requirements import Requirement\n"
    "    from packaging.utils import canonicalize_name as key\n"
    "except ImportError:\n"
    "    from pip._vendor.packaging.requirements import Requirement\n"
    "    from pip._vendor.packaging.utils import canonicalize_name as key\n"
    "out = {key(n): [] for n in sys.argv[1:]}\n"
    "for dist in md.distributions():\n"
    "    for text in dist.requires or []:\n"
    "        try:\n"
    "            req = Requirement(text)\n"
    "        except Exception:\n"
    "            continue\n"
    "        if key(req.name) in out and (req.marker is None or req.marker.evaluate({'extra': ''})):\n"
    "            out[key(req.name)].append(f\"{dist.metadata['Name']} {dist.version}\")\n"
    "print(json.dumps(out))\n"
)


class ContainerExecError(CollectionError):
    """A command could not be run in the container; the message says why."""


@dataclass(frozen=True)
class ExecResult:
    rc: int
    output: str


@dataclass(frozen=True)
class Snapshot:
    pip_version: str
    installed: dict[str, tuple[str, str]]
    files: dict[str, str | None]
    # module -> {"origin": where it imports from, "dists": distributions that own it}, for the modules asked for
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)


class ContainerPython:
    def __init__(self, container: Any, python: str) -> None:
        self.container = container
        self.python = python
        self.name = container.name

    def run(self, argv: list[str], env: dict[str, str] | None = None) -> ExecResult:
        try:
            done = self.container.exec_run(argv, environment=env or None, stdout=True, stderr=True, demux=False)
        except (ReadTimeout, RequestsConnectionError):
            raise ContainerExecError(
                f"{argv[0]} {' '.join(argv[1:4])}... did not finish in container {self.name!r} within the "
                "timeout: raise pip_timeout for slow installs (source builds can take long)"
            ) from None
        except DockerException as exc:
            raise ContainerExecError(f"cannot run {argv[0]!r} in container {self.name!r}: {describe(exc)}") from None
        rc, output = done.exit_code, (done.output or b"").decode("utf-8", "replace")
        if rc in (126, 127) and ("executable file not found" in output or "no such file" in output.lower()):
            raise ContainerExecError(
                f"{argv[0]!r} was not found in container {self.name!r} ({output.strip()[:200]}): set the "
                "module's python option to the container's Python interpreter"
            )
        return ExecResult(rc if rc is not None else -1, output)

    def py_json(self, code: str, *args: str, env: dict[str, str] | None = None) -> tuple[Any, str]:
        """Run a script that prints JSON last; (the parsed value or None, the output for a message)."""
        done = self.py(code, *args, env=env)
        try:
            return json.loads(done.output.strip().splitlines()[-1]), done.output
        except (ValueError, IndexError):
            return None, done.output

    def py(self, code: str, *args: str, env: dict[str, str] | None = None) -> ExecResult:
        return self.run([self.python, "-c", code, *args], env)

    def pip(self, args: list[str], env: dict[str, str] | None = None) -> ExecResult:
        return self.run([self.python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args], env)

    # -- reading ----------------------------------------------------------
    def snapshot(self, paths: list[str] | None = None, modules: list[str] | None = None) -> Snapshot:
        """pip's version, the installed distributions, the text of ``paths`` (None: missing) and where
        each of ``modules`` would import from (only those that would)."""
        env = {"SPARK_FIND_MODULES": ",".join(modules)} if modules else None
        data, output = self.py_json(_SNAPSHOT, *(paths or []), env=env)
        if not isinstance(data, dict):
            raise ContainerExecError(f"cannot read the Python packages of container {self.name!r} with "
                                     f"{self.python!r}: {output.strip()[-300:]}")
        if not data.get("pip"):
            raise ContainerExecError(
                f"pip is not installed for {self.python!r} in container {self.name!r}: install pip in the "
                "image (or set python to an interpreter that has it)"
            )
        try:
            version = tuple(int(p) for p in data["pip"].split(".")[:2])
        except ValueError:
            version = MIN_PIP  # a development build of pip: let it try
        if version < MIN_PIP:
            raise ContainerExecError(
                f"pip {data['pip']} in container {self.name!r} is too old: container_pip needs pip >= "
                f"{'.'.join(map(str, MIN_PIP))} (install --dry-run --report) to check before installing"
            )
        installed: dict[str, tuple[str, str]] = {}
        for name, version in data["dists"]:
            installed.setdefault(canonical(name), (name, version))
        return Snapshot(data["pip"], installed, data.get("files") or {}, data.get("modules") or {})

    def installed(self) -> dict[str, tuple[str, str]]:
        """canonical name -> (name, version) of every installed distribution."""
        return self.snapshot().installed

    def read_text(self, path: str) -> str | None:
        """A file's text, through the archive API (no process in the container); None if missing."""
        try:
            stream, _stat = self.container.get_archive(path)
            data = b"".join(stream)
        except NotFound:
            return None
        except DockerException as exc:
            raise ContainerExecError(f"cannot read {path} in container {self.name!r}: {describe(exc)}") from None
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            handle = tar.extractfile(member) if member else None
            return handle.read().decode("utf-8", "replace") if handle else None

    def wheel_files(self, folder: str) -> dict[str, list[str] | str]:
        """wheel file name -> its entries (or the error that kept it from being read), for a folder's wheels."""
        listing, output = self.py_json(_WHEEL_FILES, folder)
        if not isinstance(listing, dict):
            raise ContainerExecError(f"cannot list the wheels in {folder} of container {self.name!r}: "
                                     f"{output.strip()[-300:]}")
        return listing

    def environment(self) -> dict[str, str]:
        pairs = (self.container.attrs.get("Config") or {}).get("Env") or []
        return dict(p.split("=", 1) for p in pairs if "=" in p)

    def import_errors(self, modules: list[str]) -> dict[str, str]:
        """module -> error text, for every module that fails to import (empty: all fine)."""
        if not modules:
            return {}
        results, output = self.py_json(_IMPORTS, *modules)
        if not isinstance(results, dict):
            return {"(python)": f"the import check did not run: {output.strip()[-300:]}"}
        return {name: error for name, error in results.items() if error}

    def required_by(self, names: list[str]) -> dict[str, list[str]]:
        """canonical name -> ["<distribution> <version>", ...] installed that require it."""
        if not names:
            return {}
        results, _output = self.py_json(_REQUIRED_BY, *names)
        return {canonical(name): list(users) for name, users in (results or {}).items()}

    def unreachable(self, urls: list[str], env: dict[str, str] | None = None) -> dict[str, str]:
        """url -> error, for every index or find-links location the container cannot read (``env`` may
        name the run's netrc file)."""
        if not urls:
            return {}
        results, _output = self.py_json(_PROBE, *urls, env=env)
        return {url: error for url, error in (results or {}).items() if error}

    # -- scratch files ----------------------------------------------------
    def make_scratch(self) -> str:
        """A new folder under the container's /tmp (created by the first write into it)."""
        return f"/tmp/spark-container-pip-{uuid.uuid4().hex[:12]}"

    def write_text(self, folder: str, name: str, text: str, mode: int = 0o644) -> str:
        data = text.encode()
        parent, base = posixpath.split(folder)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            top = tarfile.TarInfo(base)
            top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o700, int(time.time())
            tar.addfile(top)
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        try:
            ok = self.container.put_archive(parent, buf.getvalue())
        except DockerException as exc:
            raise ContainerExecError(f"cannot write {folder}/{name} in container {self.name!r}: {describe(exc)}") from None
        if not ok:
            raise ContainerExecError(f"cannot write {folder}/{name} in container {self.name!r}")
        return f"{folder}/{name}"

    def remove_tree(self, folder: str) -> None:
        # Best effort: a scratch folder left in /tmp is harmless.
        try:
            done = self.run(["rm", "-rf", "--", folder])
        except ContainerExecError:  # no rm in the image
            done = ExecResult(1, "")
        if done.rc != 0:
            self.py("import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", folder)
