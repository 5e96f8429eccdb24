# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What container_pip refuses to install, decided from the dry-run's plan.

Private to this collection. Three rules, each checked against the whole
resolution (transitive dependencies included):

* ``pinned``: a package the constraint set pins (torch family, image pins)
  would be upgraded, downgraded, replaced or reinstalled;
* ``denied``: a package on the container's deny list would be installed, or
  a wheel of the resolution would make a denied module importable (read
  from the wheels' file lists, ``wheel_modules``; see ``module_refusals``);
* ``source_build``: a package has no wheel and would be built from source,
  and source builds were not allowed for it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical, change_word
from ansible_collections.spark_control.audio.plugins.module_utils._pip.report import Planned

CUDA_GRAPH_REASON = (
    "NeMo's greedy TDT decoder uses CUDA graphs unless use_cuda_graph_decoder is false, and with "
    "cuda-python/cuda-bindings importable it takes the full conditional-node graph path, which crashes real "
    "decodes on GB10 with 'an illegal memory access was encountered' (silence and tones still pass); the "
    "parakeet overlay sets the flag false, nothing else that decodes in the container does"
)
# `cuda` is the whole namespace both ship into (cuda.bindings, cuda.cudart...): any wheel
# that makes it importable, under whatever name, is refused for parakeet-asr.
# nemo_toolkit 3 requires cuda-bindings: in an NGC image with NeMo 3 that copy is the image's own (kept_for).
DEFAULT_DENY = [
    {"name": "cuda-python", "reason": CUDA_GRAPH_REASON, "modules": ["cuda"], "kept_for": []},
    {"name": "cuda-bindings", "reason": CUDA_GRAPH_REASON, "modules": ["cuda"], "kept_for": ["nemo-toolkit"]},
]


@dataclass(frozen=True)
class Refusal:
    rule: str
    package: str
    detail: str
    reason: str = ""  # denied: why this package is denied
    via: str = ""     # denied: how it got into the resolution
    module: str = ""  # denied by module: the denied module the package would make importable

    def __str__(self) -> str:
        return self.detail

    def as_dict(self) -> dict:
        out = {"rule": self.rule, "package": self.package, "detail": self.detail}
        return out | ({"module": self.module} if self.module else {})


def _reason(entry: dict) -> str:
    return entry.get("reason") or "denied for this container"


def deny_map(entries: list[dict]) -> dict[str, str]:
    """canonical name -> reason, from the module's ``deny`` option."""
    return {canonical(e["name"]): _reason(e) for e in entries}


def entry_modules(entry: dict) -> list[str]:
    """The modules a deny entry denies: as given, else the one its name spells (``foo-bar`` -> ``foo_bar``)."""
    if entry.get("modules") is not None:
        return list(entry["modules"])
    return [canonical(entry["name"]).replace("-", "_")]


def deny_modules(entries: list[dict]) -> dict[str, str]:
    """module -> reason, from the module's ``deny`` option (the first entry naming a module wins)."""
    found: dict[str, str] = {}
    for entry in entries:
        for module in entry_modules(entry):
            found.setdefault(module, _reason(entry))
    return found


def deny_kept_for(entries: list[dict]) -> dict[str, set[str]]:
    """denied name -> the distributions whose requirement of it makes an installed copy the image's own."""
    return {canonical(e["name"]): {canonical(n) for n in e.get("kept_for") or []} for e in entries}


def pulled_in_by(plan: list[Planned], target: str) -> list[str]:
    """Names from a requested package down to ``target`` (canonical), or [] if unknown."""
    by_name = {p.canonical: p for p in plan}
    queue = deque([[p.canonical] for p in plan if p.requested])
    seen = set()
    while queue:
        path = queue.popleft()
        if path[-1] == target:
            return [by_name[name].name if name in by_name else name for name in path]
        if path[-1] in seen:
            continue
        seen.add(path[-1])
        for dep in by_name[path[-1]].requires if path[-1] in by_name else ():
            queue.append(path + [dep])
    return []


def check(plan: list[Planned], pinned: dict[str, str], installed: dict[str, tuple[str, str]],
          deny: dict[str, str], allow_source: set[str]) -> list[Refusal]:
    refusals = []
    allowed = {canonical(n) for n in allow_source}
    for item in plan:
        name = item.canonical
        if name in pinned:
            word = change_word(installed.get(name, (None, None))[1], item.version)
            refusals.append(Refusal("pinned", item.name, (
                f"{item.name} is pinned at {pinned[name]} (torch family or image constraint) and the "
                f"resolution would {word} it to {item.version}: that breaks the image's binary compatibility"
            )))
        if name in deny:
            chain = pulled_in_by(plan, name)
            how = "requested directly" if item.requested or len(chain) < 2 else "pulled in by " + " -> ".join(chain)
            refusals.append(Refusal("denied", item.name, (
                f"{item.name} {item.version} is denied in this container ({how}): {deny[name]}"
            ), reason=deny[name], via=f"{item.name} {item.version} ({how})"))
        if item.source_build and name not in allowed:
            refusals.append(Refusal("source_build", item.name, (
                f"{item.name} {item.version} has no wheel for this platform on the index and would be built "
                f"from source ({item.url or 'local source'}); source builds are allowed only for "
                f"{sorted(allowed) or 'no package'}: add {item.name} to allow_source_build if building it in "
                "the container is intended"
            )))
    return refusals


def module_refusals(plan: list[Planned], item: Planned, hits: list[tuple[str, str]],
                    denied_modules: dict[str, str]) -> list[Refusal]:
    """Refusals for a planned wheel that would make denied modules importable (``hits``: module, file)."""
    chain = pulled_in_by(plan, item.canonical)
    how = "requested directly" if item.requested or len(chain) < 2 else "pulled in by " + " -> ".join(chain)
    refusals = []
    for module, path in hits:
        reason = denied_modules[module]
        refusals.append(Refusal("denied", item.name, (
            f"{item.name} {item.version} ({how}) would make denied module {module} importable ({path} in its "
            f"wheel): {reason}"
        ), reason=reason, via=f"{item.name} {item.version} ({how}; its wheel makes module {module} importable)",
            module=module))
    return refusals


def describe(refusals: list[Refusal]) -> str:
    """One sentence per refusal; denied packages sharing a reason are named together."""
    parts: list[str] = []
    denied: dict[str, list[str]] = {}
    for refusal in refusals:
        if refusal.rule == "denied":
            denied.setdefault(refusal.reason, []).append(refusal.via)
        else:
            parts.append(refusal.detail)
    for reason, what in denied.items():
        parts.insert(0, f"{' and '.join(what)} {'is' if len(what) == 1 else 'are'} denied in this container: {reason}")
    return " ".join(f"({i}) {text}." for i, text in enumerate(parts, 1))


def denied_installed(installed: dict[str, tuple[str, str]], deny: dict[str, str]) -> list[tuple[str, str, str]]:
    """(name, version, reason) of every denied package already installed."""
    return [(installed[n][0], installed[n][1], reason) for n, reason in sorted(deny.items()) if n in installed]
