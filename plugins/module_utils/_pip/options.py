# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""container_pip's options: the argument spec and the checks it cannot express.

Private to this collection. The one declaration of the options, read by the
module and by its action plugin, which validates them on the controller
before it answers a reinstall with nothing recorded without running the
module (so a bad option fails there too). Standard library only (and
packaging, which ansible-core brings): the controller imports it.
"""
from __future__ import annotations

from typing import Any

from ansible_collections.spark_control.audio.plugins.module_utils._docker_options import DOCKER_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import Range
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import problems as range_problems
from ansible_collections.spark_control.audio.plugins.module_utils._pip.manifest import DEFAULT_DIR as DEFAULT_MANIFEST_DIR
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import is_module_name, is_project_name
from ansible_collections.spark_control.audio.plugins.module_utils._pip.policy import DEFAULT_DENY, entry_modules
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import check as check_sources
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import sources_from

SHORT_REASON = "NeMo takes the full CUDA-graph decode path with it, which crashes real decodes on GB10"

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "container": {"type": "str", "required": True, "aliases": ["name"]},
    "packages": {"type": "list", "elements": "str"},
    "reinstall": {"type": "bool", "default": False},
    "python": {"type": "str", "default": "python"},
    "pinned_packages": {"type": "list", "elements": "str", "default": ["torch", "torchvision", "torchaudio", "triton"]},
    "constraint_file": {"type": "str"},
    "deny": {
        "type": "list", "elements": "dict",
        "default": [{"name": d["name"], "reason": SHORT_REASON, "modules": d["modules"], "kept_for": d["kept_for"]}
                    for d in DEFAULT_DENY],
        "options": {"name": {"type": "str", "required": True}, "reason": {"type": "str"},
                    "modules": {"type": "list", "elements": "str"},
                    "kept_for": {"type": "list", "elements": "str", "default": []}},
    },
    "remove_denied": {"type": "bool", "default": False},
    "allow_source_build": {"type": "list", "elements": "str", "default": ["torchaudio"]},
    "no_build_isolation": {"type": "list", "elements": "str", "default": ["torchaudio"]},
    "prefer_binary": {"type": "bool", "default": True},
    "import_checks": {"type": "list", "elements": "str", "default": ["torch"]},
    "index_url": {"type": "str"},
    "extra_index_urls": {"type": "list", "elements": "str", "default": []},
    "find_links": {"type": "list", "elements": "str", "default": []},
    "no_index": {"type": "bool", "default": False},
    "trusted_hosts": {"type": "list", "elements": "str", "default": []},
    "retries": {"type": "int", "default": 2},
    "network_timeout": {"type": "int", "default": 15},
    "pip_timeout": {"type": "int", "default": 1800},
    "manifest_dir": {"type": "path", "default": DEFAULT_MANIFEST_DIR},
    "record": {"type": "bool", "default": True},
    "if_missing": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
} | DOCKER_ARGUMENT_SPEC

MUTUALLY_EXCLUSIVE = [("packages", "reinstall")]

RANGES = {
    "retries": Range(low=0),
    "network_timeout": Range(low=0, low_open=True),
    "pip_timeout": Range(low=0, low_open=True),
    "docker_timeout": Range(low=0, low_open=True),
}
NAME_LISTS = ("pinned_packages", "allow_source_build", "no_build_isolation")


class OptionError(CollectionError):
    """An option's value is malformed; the message names the option."""


def check_options(params: dict[str, Any]) -> None:
    """What the argument spec cannot say: ranges, names that must be package or module names, paths, the
    package source options (SourceError)."""
    bad = range_problems(params, RANGES)
    if not params["container"].strip():
        bad.append("container is empty: give the name or id of the running container")
    if not params["python"].strip():
        bad.append("python is empty: give the container's Python interpreter, e.g. python or /opt/venv/bin/python")
    if params["constraint_file"] is not None and not params["constraint_file"].startswith("/"):
        bad.append(f"constraint_file {params['constraint_file']!r} is not an absolute path inside the container")
    for key in NAME_LISTS:
        bad += [f"{key}[{i}] {name!r} is not a package name" for i, name in enumerate(params[key])
                if not is_project_name(name)]
    bad += [f"import_checks[{i}] {name!r} is not a module name (dotted Python identifiers, e.g. torch or "
            "torch.cuda)" for i, name in enumerate(params["import_checks"]) if not is_module_name(name)]
    for i, entry in enumerate(params["deny"]):
        if not is_project_name(entry["name"]):
            bad.append(f"deny[{i}].name {entry['name']!r} is not a package name")
            continue
        bad += [f"deny[{i}].modules[{j}] {module!r} is not a module name (dotted Python identifiers, e.g. cuda or "
                "cuda.bindings)" for j, module in enumerate(entry_modules(entry)) if not is_module_name(module)]
    if bad:
        raise OptionError("; ".join(bad))
    check_sources(sources_from(params))
