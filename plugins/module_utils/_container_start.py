# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start the speech containers that are not running, and say how they are set to come back.

Private to this collection; the work behind the speech_containers module.
After a Docker engine restart, containers without a restart policy stay
exited (a Spark's containers carry ``unless-stopped``, which brings them
back, but not after a ``docker stop``). ``ensure_running`` starts each
stopped (``exited``, ``created``) container, unpauses a paused one, waits a
bounded time until each is running (a container that exits again is named,
with the tail of its log; one the engine removed as it exited, run with
``--rm``, is named too), and reports each one's restart policy. Engine
errors become messages, never tracebacks. A
container that does not exist cannot be started: it must be recreated as
deployed, so it is reported as missing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ansible_collections.spark_control.audio.plugins.module_utils._docker import (
    DockerAccessError, DockerException, NotFound, describe, log_tail)

STARTABLE = ("exited", "created")
POLL = 0.5


@dataclass
class Outcome:
    containers: list[dict[str, Any]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # what could not be brought up, with why
    notes: list[str] = field(default_factory=list)


def _policy(container: Any) -> str:
    policy = (container.attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
    return policy.get("Name") or "no"


def _wait_running(container: Any, timeout: float, sleep: Callable[[float], None],
                  clock: Callable[[], float]) -> str | None:
    """None once the container runs; otherwise why not (it exited again, or the wait ran out)."""
    deadline = clock() + timeout
    while True:
        try:
            container.reload()
        except NotFound:  # started with --rm: the engine deletes it as soon as it exits
            return ("started but exited again and was removed (a container run with --rm is deleted when it exits, "
                    "its log with it): recreate it as deployed, without --rm, to see why it exits")
        except (DockerException, OSError) as exc:  # requests' errors while dockerd restarts or hangs
            return f"was started, but the Docker engine did not answer while waiting for it to run: {describe(exc)}"
        state = container.attrs.get("State") or {}
        if state.get("Running") and not state.get("Restarting"):
            return None
        if container.status in ("exited", "dead"):
            return (f"started but exited again (exit code {state.get('ExitCode')}); its log ends with: "
                    f"{log_tail(container, 10).strip()[-600:]}")
        if clock() >= deadline:
            return f"still {container.status!r} after {timeout:g} s"
        sleep(POLL)


def ensure_running(client: Any, names: list[str], check_mode: bool, timeout: float,
                   sleep: Callable[[float], None] = time.sleep,
                   clock: Callable[[], float] = time.monotonic) -> Outcome:
    outcome = Outcome()
    for name in names:
        try:
            container = client.containers.get(name)
        except NotFound:
            outcome.missing.append(name)
            outcome.containers.append({"name": name, "status_before": "missing", "status": "missing",
                                       "started": False, "restart_policy": None})
            continue
        except (DockerException, OSError) as exc:
            raise DockerAccessError(f"cannot inspect container {name!r}: {describe(exc)}") from None
        before, policy = container.status, _policy(container)
        row = {"name": name, "status_before": before, "status": before, "started": False, "restart_policy": policy}
        outcome.containers.append(row)
        if policy == "no":
            outcome.notes.append(f"container {name!r} has restart policy 'no': after a Docker engine restart it stays "
                                 "exited; recreate it with --restart unless-stopped, as a Spark's containers run")
        if before == "running":
            continue
        if before not in STARTABLE and before != "paused":
            outcome.failed.append(f"{name} is {before!r}, which docker start cannot fix: recreate it as deployed")
            continue
        row["started"] = True
        outcome.started.append(name)
        if check_mode:
            continue
        try:
            if before == "paused":
                container.unpause()
            else:
                container.start()
        except (DockerException, OSError) as exc:
            outcome.failed.append(f"{name}: docker {'unpause' if before == 'paused' else 'start'} failed: "
                                  f"{describe(exc)}")
            continue
        problem = _wait_running(container, timeout, sleep, clock)
        row["status"] = container.status
        if problem:
            outcome.failed.append(f"{name} {problem}")
    return outcome
