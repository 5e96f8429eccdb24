#!/usr/bin/python
# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: speech_containers
short_description: Start the speech containers of an audio host that are not running
version_added: 0.2.0
description:
  - Makes sure each container of O(names) (such as C(parakeet-asr) and C(kokoro)) is running, as the remediation
    step of C(playbooks/deep_health.yml) does after a Docker engine restart or a C(docker stop) - a stopped
    (C(exited), C(created)) container is started, a paused one unpaused, and the module waits until each runs.
  - A container that exits again right after the start fails the task with the end of its log; one that does not
    exist, or is C(dead), cannot be brought back by a start and fails the task too (recreate it as deployed, then
    run C(reapply_patches.yml), since a new container has no overlay).
  - Reports each container's restart policy and warns about C(no), under which the container stays exited after
    a Docker engine restart. A Spark's containers run with C(unless-stopped), which brings them back after an
    engine restart but not after a C(docker stop).
  - Starting a container keeps its files (the overlay of C(parakeet-asr) stays); the services then need their
    load time before they answer, which the caller waits for (C(deep_health.yml) polls their health endpoints).
  - Runs on the host of the Docker engine and talks to it through the Docker SDK for Python.
attributes:
  check_mode:
    support: full
    details: Reports which containers would be started, starts nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Containers that run already report no change.
extends_documentation_fragment:
  - spark_control.audio.attributes
  - spark_control.audio.docker
options:
  names:
    description: Names (or ids) of the containers that must be running.
    type: list
    elements: str
    required: true
  wait_timeout:
    description: Seconds to wait, per started container, until Docker reports it running; more than 0.
    type: float
    default: 60
author:
  - Spark Control team (@spark-control)
"""

EXAMPLES = r"""
- name: Start parakeet-asr and kokoro if they are stopped
  spark_control.audio.speech_containers:
    names: [parakeet-asr, kokoro]
  register: speech

- name: Say which were started
  ansible.builtin.debug:
    msg: "started: {{ speech.started | join(', ') or 'none' }}"
"""

RETURN = r"""
containers:
  description: One entry per container of O(names).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The container.
      type: str
    status_before:
      description: Docker's status before the run (C(missing) when the container does not exist).
      type: str
    status:
      description: Docker's status after the run.
      type: str
    started:
      description: Whether the run started (or unpaused) it, or would in check mode.
      type: bool
    restart_policy:
      description: The container's restart policy (C(no), C(always), C(unless-stopped), C(on-failure)); null when missing.
      type: str
  sample:
    - {name: parakeet-asr, status_before: exited, status: running, started: true, restart_policy: unless-stopped}
started:
  description: The containers started (or unpaused), or that would be in check mode.
  returned: always
  type: list
  elements: str
  sample: [parakeet-asr]
missing:
  description: The containers of O(names) that do not exist.
  returned: always
  type: list
  elements: str
  sample: []
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._container_start import ensure_running
from ansible_collections.spark_control.audio.plugins.module_utils._docker import connect
from ansible_collections.spark_control.audio.plugins.module_utils._docker_options import DOCKER_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import Range, problems

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "names": {"type": "list", "elements": "str", "required": True},
    "wait_timeout": {"type": "float", "default": 60},
} | DOCKER_ARGUMENT_SPEC

RANGES = {"wait_timeout": Range(low=0, low_open=True), "docker_timeout": Range(low=0, low_open=True)}


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    _deps.check(module)
    params = module.params
    bad = problems(params, RANGES)
    empty = [f"names[{i}] is empty" for i, name in enumerate(params["names"]) if not name.strip()]
    if bad or empty or not params["names"]:
        module.fail_json(msg="; ".join(bad + empty) or "names is empty: give the containers that must be running")
    try:
        outcome = ensure_running(connect(params), params["names"], module.check_mode, params["wait_timeout"])
    except CollectionError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    for note in outcome.notes:
        module.warn(note)
    result = {"changed": bool(outcome.started), "containers": outcome.containers, "started": outcome.started,
              "missing": outcome.missing}
    problems_found = [f"{name} does not exist: recreate it as deployed, then run reapply_patches.yml (a new "
                      "container has no overlay)" for name in outcome.missing] + outcome.failed
    if problems_found:
        module.fail_json(msg="; ".join(problems_found), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
