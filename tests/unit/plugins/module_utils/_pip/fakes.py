"""A scripted stand-in for _pip.container.ContainerPython (unit tests only).

It keeps an installed-packages table and answers pip the way the real one
does at the level container_pip looks at: dry runs write a report (or fail
with recorded pip output), installs change the table, uninstalls remove from
it. Every pip call is kept in ``calls`` so tests can assert what ran.
"""
from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.spark_control.audio.plugins.module_utils._pip.container import ExecResult, Snapshot
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical

FIXTURES = Path(__file__).parent / "fixtures"

NGC_CONSTRAINT = (
    "# NGC pins\n"
    "torch==2.9.0a0+145a3a7bda.nv25.10\n"
    "torchvision==0.24.0a0+094e7af5\n"
    "triton==3.5.0+gitbfa6c8b4\n"
    "numpy==2.4.6\n"
)
NGC_INSTALLED = {
    "torch": ("torch", "2.9.0a0+145a3a7bda.nv25.10"),
    "torchvision": ("torchvision", "0.24.0a0+094e7af5"),
    "triton": ("triton", "3.5.0+gitbfa6c8b4"),
    "numpy": ("numpy", "2.4.6"),
    "fastapi": ("fastapi", "0.165.0"),
}


def report(*items: tuple) -> dict:
    """A pip report; each item is (name, version, requested[, requires[, url]])."""
    install = []
    for item in items:
        name, version, requested = item[:3]
        requires = item[3] if len(item) > 3 else []
        url = item[4] if len(item) > 4 else f"http://127.0.0.1:8570/files/{name}-{version}-py3-none-any.whl"
        install.append({"download_info": {"url": url, "archive_info": {}}, "requested": requested,
                        "metadata": {"name": name, "version": version, "requires_dist": requires}})
    return {"version": "1", "install": install}


def pip_output(version: str, case: str) -> str:
    return (FIXTURES / "pip_output" / version / f"{case}.txt").read_text()


class FakePython:
    python = "python"
    name = "parakeet-asr"

    def __init__(self, installed: dict | None = None, constraint: str | None = NGC_CONSTRAINT,
                 env: dict | None = None) -> None:
        self.table = dict(NGC_INSTALLED if installed is None else installed)
        self.files: dict[str, str] = {}
        if constraint is not None:
            self.files["/etc/pip/constraint.txt"] = constraint
        self.env = {"PIP_CONSTRAINT": "/etc/pip/constraint.txt"} if env is None else env
        self.dry_runs: list = []          # ("ok", report dict) or ("fail", output)
        self.install_adds: dict = {}      # canonical -> (name, version) an install puts in
        self.install_fails: str | None = None
        self.broken_imports: dict = {}    # canonical name installed -> {module: error}
        self.dead_urls: dict = {}
        self.requirers: dict = {}         # canonical name -> ["<dist> <version>"] installed that require it
        self.probe_envs: list = []
        self.modules: dict = {}           # module -> {"origin", "dists"}: importable while a dist is installed
        self.wheels: dict = {}            # wheel file name -> its entries, for `pip download`
        self.downloaded: list[str] = []
        self.modes: dict[str, int] = {}
        self.calls: list[tuple[list[str], dict | None]] = []
        self.scratch_removed: list[str] = []
        self.snapshots = 0

    # reading
    def snapshot(self, paths: list[str] | None = None, modules: list[str] | None = None) -> Snapshot:
        self.snapshots += 1
        found = {m: info for m, info in self.modules.items() if m in (modules or [])
                 and (info.get("dists") is None or any(canonical(d) in self.table for d in info["dists"])
                      or not info["dists"])}
        return Snapshot("23.0.1", dict(self.table), {p: self.files.get(p) for p in paths or []}, found)

    def installed(self) -> dict:
        return self.snapshot().installed

    def read_text(self, path: str) -> str | None:
        return self.files.get(path)

    def environment(self) -> dict:
        return dict(self.env)

    def import_errors(self, modules: list[str]) -> dict:
        errors = {}
        for package, broken in self.broken_imports.items():
            if package in self.table:
                errors |= {m: e for m, e in broken.items() if m in modules}
        return errors

    def required_by(self, names: list[str]) -> dict:
        return {canonical(n): [u for u in self.requirers.get(canonical(n), []) if canonical(u.split()[0]) in self.table]
                for n in names}

    def unreachable(self, urls: list[str], env: dict | None = None) -> dict:
        self.probe_envs.append(env)
        return {u: self.dead_urls[u] for u in urls if u in self.dead_urls}

    # scratch
    def make_scratch(self) -> str:
        return "/tmp/spark-container-pip-test"

    def write_text(self, folder: str, name: str, text: str, mode: int = 0o644) -> str:
        self.files[f"{folder}/{name}"] = text
        self.modes[f"{folder}/{name}"] = mode
        return f"{folder}/{name}"

    def wheel_files(self, folder: str) -> dict:
        return {name: self.wheels.get(name, []) for name in self.downloaded}

    def remove_tree(self, folder: str) -> None:
        self.scratch_removed.append(folder)
        for path in [p for p in self.files if p.startswith(folder + "/")]:
            del self.files[path]

    # pip
    def pip(self, args: list[str], env: dict | None = None) -> ExecResult:
        self.calls.append((list(args), env))
        if args[0] == "uninstall":
            for name in args[2:]:
                self.table.pop(canonical(name), None)
            return ExecResult(0, "")
        if args[0] == "download":
            self.downloaded += [a.split("#", 1)[0].rsplit("/", 1)[-1] for a in args if a.split("#", 1)[0].endswith(".whl")]
            return ExecResult(0, "Saved ...")
        if "--dry-run" in args:
            kind, payload = self.dry_runs.pop(0)
            if kind == "fail":
                return ExecResult(1, payload)
            self.files[args[args.index("--report") + 1]] = json.dumps(payload)
            return ExecResult(0, "Would install ...")
        if self.install_fails:
            return ExecResult(1, self.install_fails)
        if "--no-deps" in args:  # a rollback putting versions back
            for req in [a for a in args if "==" in a]:
                name, version = req.split("==", 1)
                self.table[canonical(name)] = (name, version)
            return ExecResult(0, "")
        self.table.update(self.install_adds)
        return ExecResult(0, "Successfully installed ...")

    def installs(self) -> list[list[str]]:
        """The pip install calls that were not dry runs."""
        return [a for a, _unused in self.calls if a[0] == "install" and "--dry-run" not in a]
