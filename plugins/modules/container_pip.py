#!/usr/bin/python
# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: container_pip
short_description: Install extra Python packages into an NGC container without moving its torch
version_added: 0.1.0
description:
  - Installs Python packages into a running container (such as C(parakeet-asr) or C(spark_embed), both built on
    NVIDIA's NGC PyTorch image) with C(pip) run through C(docker exec), so that the image's torch family never
    moves and denied packages never land.
  - "Reads the container first: the installed distributions (C(pip list)) and the image's constraint file
    (NGC images ship C(/etc/pip/constraint.txt) and point E(PIP_CONSTRAINT) at it). The constraint set for the run
    is that file plus exact pins, at the installed versions, of every installed package of the torch family
    (O(pinned_packages)) or named in the file; NGC local versions such as C(2.9.0a0+145a3a7bda.nv25.10) included."
  - "Resolves before touching anything, with C(pip install --dry-run --report), and refuses, leaving the container
    as it was, when a pinned package would be upgraded, downgraded or reinstalled; when a package of O(deny) appears
    anywhere in the resolution (dependencies of dependencies included), or a wheel of the resolution, under any
    name, would make a module of O(deny[].modules) importable (read from the wheels' file lists, fetched into the
    container's scratch folder before anything is installed); when a package has no wheel and would be
    built from source without being listed in O(allow_source_build); or when pip cannot resolve (the conflicting
    requirements are quoted), cannot find a package, or cannot reach the index."
  - "Installs with the same constraints (C(--no-build-isolation) when a package of O(no_build_isolation) is
    involved, so that for example torchaudio builds against the installed torch), then verifies that every pinned
    version is unchanged, that nothing denied got in (by name, nor a denied module that became importable, found
    with C(importlib.util.find_spec) without importing it) and that the O(import_checks) (C(import torch) by
    default) still succeed. If a check fails, what the run added is uninstalled and what it changed is put back."
  - "Records what was installed in a manifest on the managed host (O(manifest_dir)), since C(docker rm) loses it;
    O(reinstall=true) installs the recorded packages again at their recorded versions, for example after the
    container was recreated (the C(spark_control.audio.container_packages) role's C(reinstall) entry point, run
    by C(playbooks/reapply_patches.yml) before the overlay is reapplied)."
  - Runs on the host of the Docker engine and talks to it through the Docker SDK for Python.
attributes:
  check_mode:
    support: full
    details:
      - Reads the container and runs pip's dry run (in a scratch folder of the container's C(/tmp), removed
        afterwards); reports the resolution (RV(plan)) and every refusal, installs nothing, records nothing.
  diff_mode:
    support: full
    details:
      - The affected packages as C(name==version) lines before and after.
  idempotent:
    support: full
    details:
      - Packages already satisfied report no change; so does a reinstall into a container that still has them.
extends_documentation_fragment:
  - spark_control.audio.attributes
  - spark_control.audio.docker
options:
  container:
    description:
      - Name or id of the running container.
    type: str
    required: true
    aliases:
      - name
  packages:
    description:
      - "Requirements to install, as pip takes them (V(sentencepiece==0.2.0), V(loose-torch-user>=1.0),
        V(pkg[extra])). URLs and paths are refused: packages come from the index, so the resolution can be
        checked first."
      - Leave empty (and O(reinstall=false)) to only check the container; it then fails if a denied package is
        installed or an import check fails, and reports the pins.
    type: list
    elements: str
  reinstall:
    description:
      - Install the packages recorded in the container's manifest (under O(manifest_dir)) at their recorded
        versions (with the extras they were requested with), with their recorded dependency versions as extra
        constraints. No manifest means nothing to do. A recorded package that a later run moved as a dependency
        is recorded at its new version.
      - Without O(index_url), O(extra_index_urls), O(find_links), O(no_index) or O(trusted_hosts), the index options
        recorded are used again. The manifest keeps one set per container, that of the last run that recorded
        packages; a run with other options warns which earlier packages would now be reinstalled from them.
    type: bool
    default: false
  python:
    description:
      - The container's Python interpreter whose pip is used (run as C(<python> -m pip)), found on the
        container's E(PATH).
    type: str
    default: python
  pinned_packages:
    description:
      - The torch family. Each one that is installed is pinned at its installed version, besides every installed
        package named in the image's constraint file.
    type: list
    elements: str
    default: [torch, torchvision, torchaudio, triton]
  constraint_file:
    description:
      - The image's pip constraint file, a path inside the container.
      - When not set, the first path of the container's E(PIP_CONSTRAINT), then C(/etc/pip/constraint.txt); if
        neither exists only the installed O(pinned_packages) are pinned (with a warning).
    type: str
  deny:
    description:
      - Packages that must never be installed in this container, with the reason (shown in the error), and the
        modules that no package, under any name, may make importable.
      - "The default denies C(cuda-python) and C(cuda-bindings), and any package that ships the C(cuda) module
        they install, which break C(parakeet-asr) on GB10: NeMo then enables CUDA-graph decoding, which crashes
        real decodes with an illegal memory access. Set V([]) for a container where they are fine."
      - "A denied package that is already installed because a distribution of its C(kept_for) requires it
        (C(nemo_toolkit) 3 requires C(cuda-bindings), so every NGC image with NeMo 3 has it) came with the image: it
        is left in place with a warning, installs go on, and RV(kept_denied) lists it. The parakeet overlay forces
        CUDA-graph decoding off (C(use_cuda_graph_decoder=false) unless C(ASR_CUDA_GRAPHS=on)); its C(GET /overlay)
        reports C(runtime.nemo_toolkit), C(runtime.cuda_bindings) and the live decoder's
        C(runtime.decoder_cuda_graphs)."
    type: list
    elements: dict
    default:
      - name: cuda-python
        reason: NeMo takes the full CUDA-graph decode path with it, which crashes real decodes on GB10
        modules: [cuda]
        kept_for: []
      - name: cuda-bindings
        reason: NeMo takes the full CUDA-graph decode path with it, which crashes real decodes on GB10
        modules: [cuda]
        kept_for: [nemo-toolkit]
    suboptions:
      name:
        description: Package name (any spelling; compared normalised).
        type: str
        required: true
      reason:
        description: Why it is denied.
        type: str
      modules:
        description:
          - Importable modules (V(cuda), or dotted like V(cuda.bindings)) that no distribution may provide. A
            top-level name covers everything under it (V(cuda) also covers C(cuda.bindings) and any other
            package sharing the C(cuda) namespace).
          - "Checked before installing, from the file list of every wheel of the resolution. A source build's
            modules are known only once built, and a C(.pth) file can add paths: both are caught by the check
            after installing, which uninstalls what the run added."
          - Default is the module the name spells (C(foo-bar) -> C(foo_bar)); V([]) denies by name only.
        type: list
        elements: str
      kept_for:
        description:
          - "Distributions whose own requirement of this package makes an installed copy part of the image's stack
            (V([nemo-toolkit]) for C(cuda-bindings)): when one of them requires it, the copy is left in place with a
            warning instead of failing the run, and never removed. New installs of the package are still refused."
        type: list
        elements: str
        default: []
  remove_denied:
    description:
      - When a denied package is already installed, or an installed distribution makes a denied module importable,
        uninstall it (restart the container afterwards). Otherwise the task fails naming it. A denied module that no
        distribution owns (a folder put there by hand) cannot be uninstalled; the task then fails saying where it is.
      - A denied package kept for the image's own stack (see O(deny)) is never uninstalled, as that would break it.
    type: bool
    default: false
  allow_source_build:
    description:
      - Packages that may be built from source in the container when the index has no wheel for its platform.
        Any other package that would be built from source is refused.
    type: list
    elements: str
    default: [torchaudio]
  no_build_isolation:
    description:
      - "Packages whose build must see the container's installed packages (C(--no-build-isolation)): their build
        imports torch. When one is requested or turns up in the resolution, the whole pip run goes without build
        isolation (pip's switch is per run), so other source builds in that run need their build tools installed."
    type: list
    elements: str
    default: [torchaudio]
  prefer_binary:
    description:
      - Prefer an older wheel over a newer source distribution (C(--prefer-binary)).
    type: bool
    default: true
  import_checks:
    description:
      - Python modules that must still import in the container after installing (and before, when nothing is to
        be installed).
    type: list
    elements: str
    default: [torch]
  index_url:
    description:
      - Base URL of the package index (C(--index-url)), as seen from inside the container. Default is the
        container's own pip configuration.
      - "Credentials in it (C(https://user:token@host/simple/)), as in O(extra_index_urls) and O(find_links), are
        never shown or stored: they are masked in every message and result, left out of the manifest, and given to
        pip in a netrc file of the run's scratch folder (mode 0600, removed afterwards) instead of its command line,
        which any user of the host can read. One login per host; the password must be set and have no white
        space."
    type: str
  extra_index_urls:
    description:
      - More indexes (C(--extra-index-url)).
    type: list
    elements: str
    default: []
  find_links:
    description:
      - Folders (inside the container) or URLs to look for archives in (C(--find-links)).
    type: list
    elements: str
    default: []
  no_index:
    description:
      - Ignore every index and use O(find_links) only (C(--no-index)).
    type: bool
    default: false
  trusted_hosts:
    description:
      - Hosts whose index is trusted without valid HTTPS (C(--trusted-host)).
    type: list
    elements: str
    default: []
  retries:
    description:
      - How often pip retries a failed connection (C(--retries)); 0 or more.
    type: int
    default: 2
  network_timeout:
    description:
      - Socket timeout of pip, in seconds (C(--timeout)); more than 0.
    type: int
    default: 15
  pip_timeout:
    description:
      - Longest time, in seconds, that one pip run in the container may take (source builds can be slow); more
        than 0.
    type: int
    default: 1800
  manifest_dir:
    description:
      - Folder on the managed host that keeps one package manifest per container (C(<container>.json)).
    type: path
    default: /var/lib/spark_control/container-packages
  if_missing:
    description:
      - What to do when the container does not exist. V(fail) fails the task; V(skip) reports the task as
        skipped, with RV(container_exists=false), for hosts that do not run every container (such as a host
        without C(spark_embed)).
    type: str
    choices: [fail, skip]
    default: fail
  record:
    description:
      - Record the requested packages in the manifest, so that O(reinstall=true) can install them again.
      - "A requested package the image already satisfies (pip installs nothing for it) is not recorded, unless this
        collection installed it earlier: a reinstall into a newer image must not pin, or downgrade, the image's own."
    type: bool
    default: true
notes:
  - The refusals are decided from the resolution of the same pip that installs, with the same constraints, so
    a package that passes the dry run installs exactly as planned.
  - Needs pip 22.2 or later in the container (C(install --dry-run --report)).
seealso:
  - name: NGC PyTorch release notes
    description: What the NGC containers ship, including the pip constraint file.
    link: https://docs.nvidia.com/deeplearning/frameworks/pytorch-release-notes/
author:
  - Spark Control team (@spark-control)
"""

EXAMPLES = r"""
- name: Install sentencepiece into parakeet-asr without moving torch
  spark_control.audio.container_pip:
    container: parakeet-asr
    packages:
      - sentencepiece==0.2.0

- name: Build torchaudio against the container's torch (source build, no isolation by default)
  spark_control.audio.container_pip:
    container: parakeet-asr
    packages:
      - torchaudio
    import_checks: [torch, torchaudio]

- name: Show what would be installed, and the pins, without installing
  spark_control.audio.container_pip:
    container: spark_embed
    packages:
      - sentence-transformers
    deny: []
  check_mode: true
  diff: true

- name: After the container was recreated, install the recorded packages again
  spark_control.audio.container_pip:
    container: parakeet-asr
    reinstall: true

- name: Check only - denied packages absent, torch imports, report the pins
  spark_control.audio.container_pip:
    container: parakeet-asr
  register: pins

- name: Use a local index, as seen from the container (host networking)
  spark_control.audio.container_pip:
    container: parakeet-asr
    index_url: http://127.0.0.1:8570/simple/
    packages:
      - loose-torch-user
"""

RETURN = r"""
plan:
  description:
    - The resolution of the dry run - every distribution pip would install, with C(name), C(version),
      C(installed_version) (null when new), C(action) (V(install), V(upgrade), V(downgrade), V(replace),
      V(reinstall)), C(requested), C(source_build) and C(url). Empty when everything is satisfied.
  type: list
  elements: dict
  returned: when packages were given or recorded
  sample: [{name: loose-torch-user, version: 1.0.0, installed_version: null, action: install, requested: true,
            source_build: false, url: "http://127.0.0.1:8570/files/loose_torch_user-1.0.0-py3-none-any.whl"}]
installed:
  description: The distributions installed by this run, as C(name==version).
  type: list
  elements: str
  returned: always
  sample: [loose-torch-user==1.0.0, bench-helper-lib==1.0.0]
removed_denied:
  description: Denied packages uninstalled because of O(remove_denied), as C(name==version).
  type: list
  elements: str
  returned: always
kept_denied:
  description: Denied packages left installed because installed packages require them, as C(name==version).
  type: list
  elements: str
  returned: always
  sample: [cuda-bindings==13.5.0]
pinned:
  description: The packages pinned for the run, name to installed version.
  type: dict
  returned: success
  sample: {torch: 2.9.0a0+145a3a7bda.nv25.10, torchvision: 0.24.0a0+094e7af5, numpy: 2.4.6}
constraint_file:
  description: The image's constraint file that was used, or null.
  type: str
  returned: success
  sample: /etc/pip/constraint.txt
constraints:
  description: The lines of the constraint set pip ran with.
  type: list
  elements: str
  returned: success
build_isolation:
  description: Whether the pip run used build isolation (false when O(no_build_isolation) applied).
  type: bool
  returned: when packages were resolved
import_checks:
  description: Each module of O(import_checks) with V(ok) or its import error.
  type: dict
  returned: when the checks ran
  sample: {torch: ok}
container_exists:
  description: False when the container does not exist and O(if_missing=skip).
  type: bool
  returned: when skipped
manifest_path:
  description: The container's manifest on the managed host.
  type: str
  returned: always
manifest:
  description: The manifest after the run (or as it would be, in check mode); null when there is none.
  type: dict
  returned: when packages were recorded or reinstalled
  sample: {container: parakeet-asr, packages: {loose-torch-user: {requirement: loose-torch-user, version: 1.0.0}},
           resolved: {bench-helper-lib: 1.0.0, loose-torch-user: 1.0.0}, pins: {torch: 2.9.0a0+145a3a7bda.nv25.10}}
manifest_changed:
  description: True when the manifest was (or would be) written.
  type: bool
  returned: when it changed
pip_version:
  description: The pip version in the container.
  type: str
  returned: always
  sample: "23.0.1"
refusals:
  description:
    - Why the installation was refused (C(rule) V(pinned), V(denied) or V(source_build), C(package), C(detail), and
      C(module) when a denied module would have become importable).
  type: list
  elements: dict
  returned: on refusal
wheels_checked:
  description: The wheels of the resolution whose file lists were checked for denied modules.
  type: list
  elements: str
  returned: when a deny entry has modules and the resolution has wheels
  sample: [loose_torch_user-1.0.0-py3-none-any.whl, bench_helper_lib-2.0.0-py3-none-any.whl]
denied_modules:
  description: Denied modules importable in the container through no denied distribution (with O(remove_denied=false)).
  type: list
  elements: str
  returned: when such a module is found
failure_kind:
  description:
    - What kind of pip failure stopped the run - V(index_unreachable), V(unknown_package), V(no_matching_version),
      V(pinned), V(conflict), V(source_build), V(build_failed) or V(other).
  type: str
  returned: on pip failure
pip_output:
  description: The lines of pip's output that explain the failure.
  type: list
  elements: str
  returned: on pip failure
rollback:
  description: What was undone after a failed install or failed check (C(uninstalled), C(reinstalled), C(restored)).
  type: dict
  returned: on failure after installing
notes:
  description: Things worth knowing that did not stop the run (also issued as warnings).
  type: list
  elements: str
  returned: success
"""

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._docker import connect, running_container
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._pip.container import ContainerPython
from ansible_collections.spark_control.audio.plugins.module_utils._pip.manifest import nothing_recorded, path_for
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import Requirement, RequirementError, parse_requirement
from ansible_collections.spark_control.audio.plugins.module_utils._pip.options import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, SHORT_REASON, check_options)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.policy import (
    DEFAULT_DENY, deny_kept_for, deny_map, deny_modules)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import secrets, sources_from
from ansible_collections.spark_control.audio.plugins.module_utils._pip.workflow import Run, Settings


def _requirements(texts: list[str]) -> list[Requirement]:
    try:
        return [parse_requirement(text) for text in texts]
    except RequirementError as exc:
        raise RequirementError(f"packages: {exc}") from None


def settings_from(params: dict[str, Any], check_mode: bool, diff: bool) -> Settings:
    check_options(params)
    # The short default reason of the option becomes the full story in the error message.
    full = {d["name"]: d["reason"] for d in DEFAULT_DENY}
    entries = [dict(e, reason=full[e["name"]]) if e.get("reason") == SHORT_REASON and e["name"] in full else e
               for e in params["deny"]]
    deny = deny_map(entries)
    keep_manifest = params["record"] or params["reinstall"]
    return Settings(
        container=params["container"],
        requirements=_requirements(params["packages"] or []),
        reinstall=params["reinstall"],
        family=params["pinned_packages"],
        constraint_file=params["constraint_file"],
        deny=deny,
        deny_modules=deny_modules(entries),
        deny_kept_for=deny_kept_for(entries),
        remove_denied=params["remove_denied"],
        allow_source_build=set(params["allow_source_build"]),
        no_build_isolation=set(params["no_build_isolation"]),
        prefer_binary=params["prefer_binary"],
        import_checks=params["import_checks"],
        sources=sources_from(params),  # checked by check_options
        retries=params["retries"],
        network_timeout=params["network_timeout"],
        manifest_path=path_for(params["manifest_dir"], params["container"]) if keep_manifest else None,
        check_mode=check_mode,
        diff=diff,
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    _deps.check(module)
    params = module.params
    # The credentials in the source URLs are masked in everything returned (invocation, messages, results).
    module.no_log_values.update(secrets(sources_from(params)))
    try:
        settings = settings_from(params, module.check_mode, module._diff)
        if settings.reinstall and not os.path.exists(settings.manifest_path):
            # Nothing was recorded for this container: no need to reach the engine at all.
            module.exit_json(**nothing_recorded(settings.container, settings.manifest_path))
        # One pip run may take long (source builds): the SDK's socket timeout must allow it.
        client = connect(params | {"docker_timeout": max(params["docker_timeout"], params["pip_timeout"])})
        container = running_container(client, settings.container, missing_ok=params["if_missing"] == "skip")
        if container is None:
            module.exit_json(changed=False, skipped=True, container=settings.container, container_exists=False,
                             installed=[], removed_denied=[],
                             msg=f"container {settings.container!r} does not exist: skipped (if_missing=skip)")
        result = Run(ContainerPython(container, params["python"]), settings).execute()
    except CollectionError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    for note in result.get("notes", []):
        module.warn(note)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
