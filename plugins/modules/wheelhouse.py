#!/usr/bin/python
# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: wheelhouse
short_description: Download the wheels an air-gapped host needs, on the controller, for the host's platform
version_added: 0.1.0
description:
  - Runs on the controller only (an action plugin; nothing is executed on the managed host). For every
    C(name==version) line of O(requirements) it makes sure a wheel that installs on the target platform
    (O(machine), O(glibc), O(python_version)) is in the cache folder C(<dest>/<machine>-glibc<glibc>-cp<XY>),
    downloading the missing ones with C(pip download --no-deps) for that platform.
  - Each line is fetched on its own, so a package without a wheel for the platform is named in the error
    (an ARM64 wheel gap shows up on the controller, not on the Spark).
  - A pure-Python project published only as an sdist (such as C(docopt)) is built into a C(py3-none-any) wheel on
    the controller; a project that would need compiling is refused, since the host has no compiler and no index.
  - "Idempotent: a cache that already holds every wheel is left alone (no pip run), so later runs and other hosts
    of the same platform reuse it; a lock file in the folder makes parallel hosts take turns."
  - The M(spark_control.audio.audio_host) role (C(playbooks/prepare_audio_hosts.yml) with
    C(audio_host_source=wheelhouse)) reads the platform from the host, calls this, copies the wheels over and
    installs them with C(pip install --no-index).
author:
  - Spark Control team (@spark-control)
extends_documentation_fragment:
  - spark_control.audio.attributes
attributes:
  check_mode:
    support: full
    details: Reports the wheels missing from the cache (RV(missing)) without downloading.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  requirements:
    description:
      - Requirements file on the controller, every package of the closure pinned as C(name==version), one per line
        (comments allowed), such as the collection's C(requirements/audio-host.txt).
    type: path
    required: true
  dest:
    description:
      - Cache folder on the controller; the wheels go into a subfolder per platform.
    type: path
    required: true
  machine:
    description: The target's machine (C(uname -m)).
    type: str
    required: true
    choices: [x86_64, aarch64]
  glibc:
    description:
      - The target's glibc version, such as V(2.39) (DGX OS, Ubuntu 24.04); wheels of every manylinux baseline up to
        it are accepted.
    type: str
    required: true
  python_version:
    description: The target's CPython version, major.minor, such as V(3.12).
    type: str
    required: true
  python:
    description:
      - The controller's Python whose pip downloads the wheels; default the Python running Ansible.
    type: path
  index_url:
    description:
      - Package index for the controller's pip; default its own configuration.
      - Given to pip as C(PIP_INDEX_URL) in its environment, never on its command line, so a token in the URL
        does not show in the controller's process list.
    type: str
  extra_index_urls:
    description: More indexes for the controller's pip (as C(PIP_EXTRA_INDEX_URL), like O(index_url)).
    type: list
    elements: str
    default: []
  trusted_hosts:
    description:
      - Index hosts the controller's pip may use over plain HTTP or without a valid certificate (as
        C(PIP_TRUSTED_HOST)), C(host) or C(host:port); pip ignores a plain-HTTP index that is not listed here.
    type: list
    elements: str
    default: []
  timeout:
    description: Longest time in seconds one pip run may take.
    type: int
    default: 600
  archive:
    description: Also make RV(archive), one tar of exactly the wheels, for a single transfer to the host.
    type: bool
    default: true
notes:
  - The controller's pip reaches the index; the managed host never does.
seealso:
  - name: The audio host documentation
    description: docs/audio-host.md in the collection.
    link: https://example.invalid/spark-control/audio/docs/audio-host.md
"""

EXAMPLES = r"""
- name: Wheels for a DGX Spark (Ubuntu 24.04, aarch64, Python 3.12)
  spark_control.audio.wheelhouse:
    requirements: "{{ playbook_dir }}/requirements/audio-host.txt"
    dest: ~/.cache/spark_control/wheelhouse
    machine: aarch64
    glibc: "2.39"
    python_version: "3.12"
  register: dgx_wheels

- name: The same from the site's plain-HTTP mirror
  spark_control.audio.wheelhouse:
    requirements: "{{ playbook_dir }}/requirements/audio-host.txt"
    dest: ~/.cache/spark_control/wheelhouse
    machine: aarch64
    glibc: "2.39"
    python_version: "3.12"
    index_url: http://pypi-mirror.internal:3141/root/pypi/+simple/
    trusted_hosts: [pypi-mirror.internal:3141]
"""

RETURN = r"""
dest:
  description: The platform's cache folder.
  returned: always
  type: str
  sample: /home/op/.cache/spark_control/wheelhouse/aarch64-glibc2.39-cp312
target:
  description: The platform, in words.
  returned: always
  type: str
  sample: aarch64 / glibc 2.39 / CPython 3.12
platforms:
  description: The pip platform tags accepted, newest first.
  returned: always
  type: list
  elements: str
  sample: [manylinux_2_39_aarch64, manylinux_2_38_aarch64]
missing:
  description: The pins that had no wheel in the cache before the run.
  returned: always
  type: list
  elements: str
  sample: [numpy==2.4.6]
wheels:
  description: The wheel file of every pin, in the order of the requirements (empty in check mode when some are missing).
  returned: always
  type: list
  elements: str
  sample: [docker-7.2.0-py3-none-any.whl]
archive:
  description:
    - An uncompressed tar of exactly RV(wheels) in RV(dest) (made once per set of wheels), so that the wheels reach
      the host in one transfer (M(ansible.builtin.unarchive)).
  returned: when O(archive) is true and not in check mode
  type: str
  sample: /home/op/.cache/spark_control/wheelhouse/aarch64-glibc2.39-cp312/wheelhouse-0123456789abcdef.tar
fetched:
  description: Wheels downloaded in this run.
  returned: when something was missing
  type: list
  elements: str
built:
  description: Wheels built on the controller from pure-Python sdists in this run.
  returned: when something was missing
  type: list
  elements: str
  sample: [docopt-0.6.2-py2.py3-none-any.whl]
"""
