"""Starting stopped speech containers, against a scripted Docker client."""
from __future__ import annotations

from ansible_collections.spark_control.audio.plugins.module_utils._container_start import ensure_running
from ansible_collections.spark_control.audio.plugins.module_utils._docker import NotFound


class FakeContainer:
    def __init__(self, name, status, policy="unless-stopped", after_start="running", exit_code=0):
        self.name, self.status, self.after_start, self.exit_code = name, status, after_start, exit_code
        self.attrs = {"HostConfig": {"RestartPolicy": {"Name": policy}}, "State": {}}
        self.calls = []
        self._state()

    def _state(self):
        self.attrs["State"] = {"Running": self.status == "running", "Restarting": False, "ExitCode": self.exit_code}

    def start(self):
        self.calls.append("start")
        self.status = self.after_start
        self._state()

    def unpause(self):
        self.calls.append("unpause")
        self.status = "running"
        self._state()

    def reload(self):
        pass

    def logs(self, **_kw):
        return b"Traceback ...\nRuntimeError: model file missing\n"


class FakeClient:
    def __init__(self, *boxes):
        self.boxes = {b.name: b for b in boxes}
        self.containers = self

    def get(self, name):
        if name not in self.boxes:
            raise NotFound("no such container")
        return self.boxes[name]


class Clock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def time(self):
        return self.now


def run(client, names, check_mode=False, timeout=5.0):
    clock = Clock()
    return ensure_running(client, names, check_mode, timeout, sleep=clock.sleep, clock=clock.time)


def test_stopped_containers_are_started_running_ones_left_alone():
    asr, tts = FakeContainer("parakeet-asr", "exited"), FakeContainer("kokoro", "running")
    outcome = run(FakeClient(asr, tts), ["parakeet-asr", "kokoro"])
    assert outcome.started == ["parakeet-asr"] and asr.calls == ["start"] and tts.calls == []
    assert outcome.containers[0] == {"name": "parakeet-asr", "status_before": "exited", "status": "running",
                                     "started": True, "restart_policy": "unless-stopped"}
    assert outcome.failed == [] and outcome.notes == []


def test_check_mode_starts_nothing_and_paused_is_unpaused():
    asr = FakeContainer("parakeet-asr", "exited")
    assert run(FakeClient(asr), ["parakeet-asr"], check_mode=True).started == ["parakeet-asr"] and asr.calls == []
    paused = FakeContainer("kokoro", "paused")
    assert run(FakeClient(paused), ["kokoro"]).started == ["kokoro"] and paused.calls == ["unpause"]


def test_missing_dead_and_crashing_containers_are_named():
    crash = FakeContainer("parakeet-asr", "exited", after_start="exited", exit_code=1)
    dead = FakeContainer("kokoro", "dead")
    outcome = run(FakeClient(crash, dead), ["parakeet-asr", "kokoro", "spark-control"])
    assert outcome.missing == ["spark-control"]
    assert outcome.failed[0].startswith("parakeet-asr started but exited again (exit code 1); its log ends with: "
                                        "Traceback ...")
    assert outcome.failed[1] == "kokoro is 'dead', which docker start cannot fix: recreate it as deployed"


def test_a_container_that_never_gets_running_is_bounded_in_time():
    slow = FakeContainer("parakeet-asr", "exited", after_start="restarting")
    outcome = run(FakeClient(slow), ["parakeet-asr"], timeout=3)
    assert outcome.failed == ["parakeet-asr still 'restarting' after 3 s"]


def test_restart_policy_no_is_warned_about():
    outcome = run(FakeClient(FakeContainer("kokoro", "running", policy="no")), ["kokoro"])
    assert outcome.notes == ["container 'kokoro' has restart policy 'no': after a Docker engine restart it stays "
                             "exited; recreate it with --restart unless-stopped, as a Spark's containers run"]


class AutoRemoved(FakeContainer):
    """docker run --rm: the container exits at start and the engine deletes it, so reload() finds nothing."""

    def reload(self):
        if self.status == "exited":
            raise NotFound('404 Client Error: Not Found ("No such container: whisper")')


class EngineGone(FakeContainer):
    def reload(self):
        from requests.exceptions import ConnectionError as RequestsConnectionError

        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")


def test_a_removed_or_unanswered_container_is_named_not_a_traceback():
    gone = AutoRemoved("whisper", "exited", after_start="exited", exit_code=1)
    hung = EngineGone("kokoro", "exited")
    outcome = run(FakeClient(gone, hung), ["whisper", "kokoro"])
    assert outcome.failed == [
        "whisper started but exited again and was removed (a container run with --rm is deleted when it exits, its "
        "log with it): recreate it as deployed, without --rm, to see why it exits",
        "kokoro was started, but the Docker engine did not answer while waiting for it to run: ('Connection aborted.',"
        " FileNotFoundError(2, 'No such file or directory'))"]
