# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn a failed pip run into one clear message.

Private to this collection. pip reports everything as text; the kinds that
matter to someone installing into an NGC container are told apart here, each
with what to do about it:

* ``index_unreachable``: pip could not connect to the index;
* ``unknown_package``: the index has no such project;
* ``no_matching_version``: the project exists, no version fits;
* ``pinned``: the resolution conflicts with a pinned package (torch family);
* ``conflict``: any other resolution conflict (pip's "caused by" lines kept);
* ``source_build``: a package would need a source build that is not allowed;
* ``build_failed``: an allowed source build failed (hint when it needed the
  installed torch, i.e. ``--no-build-isolation``);
* ``other``: anything else, with the tail of pip's output.

Tested against the wording of pip 23.0 and 26.x.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import canonical, leading_name

_CONNECTION = re.compile(
    r"NewConnectionError|Failed to establish a new connection|ConnectTimeoutError|ReadTimeoutError|"
    r"Connection refused|Name or service not known|Temporary failure in name resolution|NameResolutionError|"
    r"Could not fetch URL|ProxyError|SSLError|Network is unreachable|No route to host",
)
_ERRNO = re.compile(r"(\[Errno -?\d+\][^'\")]*|timed out|Name or service not known|Temporary failure in name resolution)")
_NOT_FOUND = re.compile(r"Could not find a version that satisfies the requirement (?P<req>.+?) "
                        r"\(from versions: (?P<versions>[^)]*)\)")
_LOOKING = re.compile(r"Looking in (?:indexes|links): (?P<urls>[^\n]+?)(?=WARNING:|ERROR:|$)", re.M)
_COLLECTING = re.compile(r"^\s*Collecting (?P<req>\S+)")
_SDIST_FILE = re.compile(r"(Downloading|Using cached|Processing|File was already downloaded)\s.*?"
                         r"(\.tar\.gz|\.tar\.bz2|\.tar\.xz|\.zip|\.tgz)\b")
_BUILD_MARKERS = ("metadata-generation-failed", "subprocess-exited-with-error", "Failed to build ",
                  "Could not build wheels for", "did not run successfully", "Failed building wheel for")
_CULPRIT = re.compile(r"(?:Encountered error while generating package metadata\.\s*\n\s*\u2570\u2500>\s*"
                      r"(?!See above)(?P<a>[A-Za-z0-9._-]+)\s*$"
                      r"|Failed to build (?P<b>[A-Za-z0-9._-]+)|Could not build wheels for (?P<c>[A-Za-z0-9._-]+)"
                      r"|Failed building wheel for (?P<d>[A-Za-z0-9._-]+))", re.M)
_TRACE_LAST = re.compile(r"^\s*(\w+(?:Error|Exception)): (.+)$", re.M)


@dataclass
class PipFailure(Exception):
    kind: str
    message: str
    package: str | None = None
    pip_lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def _tail(output: str, lines: int = 15) -> list[str]:
    kept = [line.rstrip() for line in output.splitlines() if line.strip()]
    return kept[-lines:]


def index_urls(output: str) -> list[str]:
    """The index and find-links locations pip said it looked in."""
    urls = []
    for match in _LOOKING.finditer(output):
        urls += [u.strip() for u in match.group("urls").split(",") if u.strip()]
    return urls


def _indexes(output: str) -> str:
    return ", ".join(index_urls(output)) or "the container's pip configuration (pip.conf, PIP_INDEX_URL)"


def unreachable(output: str, container: str, problems: dict[str, str]) -> PipFailure:
    """pip found nothing because the locations in ``problems`` (url -> error) could not be read."""
    listing = "; ".join(f"{url}: {error}" for url, error in problems.items())
    return PipFailure("index_unreachable", (
        f"the package index could not be reached from inside container {container!r} ({listing}). Check that the "
        "index is up and that index_url/find_links are right as seen from the container (127.0.0.1 there is the "
        "container's own loopback unless it uses host networking)"
    ), pip_lines=_tail(output, 6))


def _conflict_lines(output: str) -> list[str]:
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("The conflict is caused by:"):
            block = []
            for follow in lines[i + 1:]:
                if not follow.strip():
                    break
                block.append(follow.strip())
            head = [ln.strip() for ln in lines if "Cannot install" in ln]
            return [h.replace("ERROR: ", "") for h in head[-1:]] + block
    return []


def _mentions(line: str, name: str) -> bool:
    variants = {name, name.replace("-", "_"), name.replace("-", ".")}
    return any(re.search(rf"(?<![\w.-]){re.escape(v)}(?![\w.-]*[A-Za-z])", line, re.I) for v in variants)


def _sdists_and_last_collected(output: str) -> tuple[set[str], str | None]:
    sdists: set[str] = set()
    current = None
    for line in output.splitlines():
        collecting = _COLLECTING.match(line)
        if collecting:
            current = leading_name(collecting.group("req"))
            continue
        if current and _SDIST_FILE.search(line):
            sdists.add(current)
        if any(marker in line for marker in _BUILD_MARKERS):
            break
    return sdists, current


def classify(output: str, container: str, pinned: dict[str, str], allow_source: set[str],
             no_build_isolation: set[str]) -> PipFailure:
    """The failure pip's combined output describes (a PipFailure, to raise)."""
    where = f"inside container {container!r}"
    not_found = _NOT_FOUND.search(output)
    connection = _CONNECTION.search(output)
    if connection:
        errno = _ERRNO.search(output)
        reason = errno.group(1).strip() if errno else connection.group(0)
        return unreachable(output, container, {_indexes(output): reason})

    conflict = _conflict_lines(output)
    if conflict or "ResolutionImpossible" in output:
        moved = sorted(n for n in pinned if any(_mentions(line, n) for line in conflict))
        lines = conflict or _tail(output, 8)
        if moved:
            pins = ", ".join(f"{n}=={pinned[n]}" for n in moved)
            return PipFailure("pinned", (
                f"refused: the request needs another version of pinned {', '.join(moved)} (installed and pinned: "
                f"{pins}); moving it would break the image's binary compatibility. pip's conflict: "
                + " | ".join(lines) + ". Ask for versions that work with the installed torch family instead"
            ), package=moved[0], pip_lines=lines)
        return PipFailure("conflict", (
            "the requested packages cannot be installed together with what the container holds and its "
            "constraints. pip's conflict: " + " | ".join(lines)
        ), pip_lines=lines)

    if any(marker in output for marker in _BUILD_MARKERS):
        sdists, current = _sdists_and_last_collected(output)
        culprit_match = _CULPRIT.search(output)
        culprit = canonical(next(g for g in culprit_match.groups() if g)) if culprit_match else current
        allowed = {canonical(n) for n in allow_source}
        errors = [f"{m.group(1)}: {m.group(2).strip()}" for m in _TRACE_LAST.finditer(output)]
        cause = errors[-1] if errors else " | ".join(_tail(output, 4))
        if culprit and culprit not in allowed and (culprit in sdists or culprit_match):
            return PipFailure("source_build", (
                f"{culprit} has no wheel for this platform on the index and would be built from source, "
                f"which is allowed only for {sorted(allowed) or 'no package'} (its build also failed: {cause}). "
                f"Add {culprit} to allow_source_build if building it in the container is intended"
            ), package=culprit, pip_lines=_tail(output, 12))
        hint = ""
        if "No module named 'torch'" in output and culprit not in {canonical(n) for n in no_build_isolation}:
            hint = (f" Its build imports torch, which an isolated build environment lacks: add {culprit} to "
                    "no_build_isolation so it builds against the container's torch.")
        return PipFailure("build_failed", (
            f"building {culprit or 'a package'} from source failed {where}: {cause}.{hint}"
        ), package=culprit, pip_lines=_tail(output, 12))

    if not_found:
        requirement = not_found.group("req").strip()
        versions = not_found.group("versions").strip()
        if versions in ("", "none"):
            return PipFailure("unknown_package", (
                f"package {requirement!r} was not found on the index ({_indexes(output)}): check its name and the "
                "index settings"
            ), package=leading_name(requirement), pip_lines=_tail(output, 4))
        return PipFailure("no_matching_version", (
            f"no version of {requirement!r} on the index fits (the index has: {versions})"
        ), package=leading_name(requirement), pip_lines=_tail(output, 4))

    return PipFailure("other", (
        f"pip failed {where}: " + " | ".join(_tail(output, 10))
    ), pip_lines=_tail(output, 20))
