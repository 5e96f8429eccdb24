"""The whole speech_patch run against an in-memory container and a real local HTTP service."""
from __future__ import annotations

import io
import json
import wave

import numpy as np
import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._docker import DockerAccessError
from ansible_collections.spark_control.audio.plugins.module_utils._container_archive import ArchiveError
from ansible_collections.spark_control.audio.plugins.module_utils import _container_archive
from ansible_collections.spark_control.audio.plugins.module_utils._errors import CollectionError
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.apply import OverlayFailure, Settings, run
from ansible_collections.spark_control.audio.plugins.module_utils._overlay.source import MANIFEST_NAME, OverlayFile

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._overlay.fakes import (
    REFERENCE, SPEECH, FakeClient, FakeContainer, FakeService, make_settings, make_verify)

STOCK = b"print('stock server')\n"
OVERLAY = [OverlayFile.of("main.py", b"print('patched server')\n", 0o644),
           OverlayFile.of("diarizer.py", b"MAX_SPEAKERS = 4\n", 0o644),
           OverlayFile.of("warmup.wav", b"RIFF\0\0\0\0WAVEfmt ", 0o644)]


@pytest.fixture
def service():
    s = FakeService()
    yield s
    s.close()


@pytest.fixture
def box(service):
    return FakeContainer({"main.py": STOCK, "requirements.txt": b"fastapi\n"}, service=service)


def settings(tmp_path, service, files=None, **extra) -> Settings:
    base = dict(container="parakeet-asr", files=OVERLAY if files is None else files, backup_dir=str(tmp_path / "backups"),
                ready_url=service.url + "/ready", ready_timeout=5,
                verify=make_verify(service.url + "/v1/audio/transcriptions", SPEECH, REFERENCE))
    base.update(extra)
    return make_settings(**base)


def test_first_run_applies_with_one_read_one_write_one_restart(tmp_path, service, box):
    result = run(FakeClient(box), settings(tmp_path, service))
    assert result["changed"] and result["status"] == "applied" and result["restarted"]
    assert [c for c in box.calls if c != "reload"] == ["get_archive /app", "put_archive /app", "restart"]
    assert box.files["main.py"]["data"] == OVERLAY[0].data
    manifest = json.loads(box.files[MANIFEST_NAME]["data"])
    assert manifest["files"]["main.py"] == OVERLAY[0].sha256 and manifest["image_id"] == box.attrs["Image"]
    assert result["verification"]["passed"] and service.transcriptions == 1
    assert sorted(result["backup"]["recorded"]) == ["diarizer.py", "main.py", "warmup.wav"]
    assert sorted(result["changed_files"]) == ["diarizer.py", "main.py", "warmup.wav"]
    assert box.files["requirements.txt"]["data"] == b"fastapi\n"  # other files untouched


def test_second_run_is_a_no_op_with_one_request(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    box.calls.clear()
    service.transcriptions = 0
    result = run(FakeClient(box), settings(tmp_path, service))
    assert not result["changed"] and result["status"] == "current" and not result["restarted"]
    assert result["check_mode"] is False
    assert box.calls == ["get_archive /app"]
    assert box.restarts == 1 and service.transcriptions == 0
    assert result["drift"] == []


def test_check_mode_reports_without_touching_anything(tmp_path, service, box):
    result = run(FakeClient(box), settings(tmp_path, service, check_mode=True, diff_mode=True))
    assert result["changed"] and result["status"] == "applied" and not result["restarted"]
    assert result["check_mode"] is True
    assert box.calls == ["get_archive /app"] and box.files["main.py"]["data"] == STOCK
    assert not (tmp_path / "backups").exists()
    assert result["backup"]["recorded"] == ["diarizer.py", "main.py", "warmup.wav"]  # would record
    headers = [d["after_header"] for d in result["diff"]]
    assert "parakeet-asr:/app/main.py" in headers and "parakeet-asr:/app/.spark_overlay.json" in headers
    wav = next(d for d in result["diff"] if d["after_header"].endswith("warmup.wav"))
    assert wav.get("src_binary") == 1


def wav_bytes(samples) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(samples.tobytes())
    return buffer.getvalue()


def without_manifest(files: dict) -> dict:
    return {name: item for name, item in files.items() if name != MANIFEST_NAME}


def test_broken_overlay_is_rolled_back_with_log_tail(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    good = dict(box.files)
    broken = [OverlayFile.of("main.py", b"BROKEN = True\n", 0o644), OverlayFile.of("extra.py", b"x\n", 0o644)] + OVERLAY[1:]
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, files=broken))
    message, result = str(failure.value), failure.value.result
    assert "did not become ready: container exited with code 1" in message
    assert "previous files were put back and the service is ready again" in message
    assert "deliberately broken" in message and "deliberately broken" in result["log_tail"]
    assert result["rolled_back"] and result["status"] == "rolled_back"
    assert without_manifest(box.files) == without_manifest(good)  # previous overlay, no extra.py
    # Its manifest too, marked with the start time of the broken server the files were written back under.
    back, before = (json.loads(f[MANIFEST_NAME]["data"]) for f in (box.files, good))
    assert {**back, "written_during": None} == {**before, "written_during": None}
    assert back["written_during"] != before["written_during"] != box.attrs["State"]["StartedAt"]
    # apply, broken start, then the rollback: the crashed container must run
    # again before extra.py can be deleted (exec), and restarts once more after.
    assert box.restarts == 4 and service.mode == "ok"
    calls = [c for c in box.calls if c != "reload"]
    assert calls[-4:] == ["put_archive /app", "restart", "exec rm -f -- /app/extra.py", "restart"]


def test_failed_verification_is_rolled_back(tmp_path, service, box):
    garbled = [OverlayFile.of("main.py", b"GARBLE = True\n", 0o644)]
    with pytest.raises(OverlayFailure, match=r"real-speech check failed: word error rate 1\.00 > 0\.25"):
        run(FakeClient(box), settings(tmp_path, service, files=garbled))
    assert box.files["main.py"]["data"] == STOCK and MANIFEST_NAME not in box.files
    assert service.mode == "ok"
    assert box.restarts == 2  # still running after the failed check: one restart puts it back


def test_absent_restores_originals_and_is_then_idempotent(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    result = run(FakeClient(box), settings(tmp_path, service, state="absent", verify=None))
    assert result["changed"] and result["status"] == "restored" and result["restarted"]
    assert box.files["main.py"]["data"] == STOCK
    assert set(box.files) == {"main.py", "requirements.txt"}
    again = run(FakeClient(box), settings(tmp_path, service, state="absent", verify=None))
    assert not again["changed"] and again["status"] == "absent"


def test_absent_without_backup_refuses_to_guess(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service, backup_dir=str(tmp_path / "one")))
    with pytest.raises(OverlayFailure, match="no original is recorded"):
        run(FakeClient(box), settings(tmp_path, service, state="absent", backup_dir=str(tmp_path / "other")))


def test_recreated_container_gets_the_overlay_again_and_backup_keeps_the_stock_file(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    fresh = FakeContainer({"main.py": STOCK}, service=service)  # docker rm + run: the image's files
    result = run(FakeClient(fresh), settings(tmp_path, service))
    assert result["changed"] and result["restarted"] and result["backup"]["recorded"] == []
    from ansible_collections.spark_control.audio.plugins.module_utils._overlay.backups import BackupStore
    assert BackupStore(str(tmp_path / "backups"), fresh.attrs["Image"], "/app").original("main.py").data == STOCK


def test_mode_only_change_is_written_without_restart(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    result = run(FakeClient(box), settings(tmp_path, service, mode=0o600))
    assert result["changed"] and not result["restarted"] and box.restarts == 1
    assert box.files["main.py"]["mode"] == 0o600


def test_drift_is_reported_and_repaired(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    box.files["diarizer.py"]["data"] = b"MAX_SPEAKERS = 8\n"  # edited by hand in the container
    result = run(FakeClient(box), settings(tmp_path, service))
    assert result["drift"] == ["diarizer.py"] and result["changed_files"] == ["diarizer.py"]
    assert box.files["diarizer.py"]["data"] == OVERLAY[1].data


def test_dropped_file_goes_back_to_its_original(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    result = run(FakeClient(box), settings(tmp_path, service, files=OVERLAY[:2]))
    assert {f["name"]: f["action"] for f in result["files"]}["warmup.wav"] == "remove"
    assert "warmup.wav" not in box.files


def test_verify_always_checks_even_without_change(tmp_path, service, box):
    always = make_verify(service.url + "/t", SPEECH, REFERENCE, when="always")
    run(FakeClient(box), settings(tmp_path, service, verify=always))
    service.transcriptions = 0
    result = run(FakeClient(box), settings(tmp_path, service, verify=always))
    assert not result["changed"] and result["verification"]["passed"] and service.transcriptions == 1
    service.mode = "garble"
    with pytest.raises(OverlayFailure, match="Nothing was rolled back"):
        run(FakeClient(box), settings(tmp_path, service, verify=always))


def test_restart_false_writes_but_does_not_restart(tmp_path, service, box):
    result = run(FakeClient(box), settings(tmp_path, service, restart=False))
    assert result["changed"] and not result["restarted"] and box.restarts == 0
    assert any("restart=false" in n for n in result["notes"])


def test_container_problems_are_clear(tmp_path, service, box):
    with pytest.raises(DockerAccessError, match="'nope' does not exist"):
        run(FakeClient(box), settings(tmp_path, service, container="nope"))
    stopped = FakeContainer({"main.py": STOCK}, running=False)
    with pytest.raises(DockerAccessError, match="is not running"):
        run(FakeClient(stopped), settings(tmp_path, service))
    with pytest.raises(ArchiveError, match="/srv does not exist"):
        run(FakeClient(box), settings(tmp_path, service, dest="/srv"))


def test_rollback_to_the_stock_server_waits_on_its_own_endpoint(tmp_path, service, box):
    broken = [OverlayFile.of("main.py", b"BROKEN = True\n", 0o644)]
    urls = dict(ready_url=service.url + "/health/ready", original_ready_url=service.url + "/health")
    with pytest.raises(OverlayFailure, match="service is ready again") as failure:
        run(FakeClient(box), settings(tmp_path, service, files=broken, **urls))
    assert failure.value.result["rollback_ready"]["url"].endswith("/health")
    assert box.files["main.py"]["data"] == STOCK


def test_rollback_without_original_ready_url_reports_the_service_down(tmp_path, service, box):
    broken = [OverlayFile.of("main.py", b"BROKEN = True\n", 0o644)]
    with pytest.raises(OverlayFailure, match="did NOT come back: not ready after 1s; last answer: HTTP 404"):
        run(FakeClient(box), settings(tmp_path, service, files=broken, ready_url=service.url + "/health/ready",
                                      ready_timeout=1))
    assert box.files["main.py"]["data"] == STOCK  # the files are back even so


# -- the apply is one transaction --------------------------------------------------
def journal_of(tmp_path, box):
    return tmp_path / "backups" / "journal" / f"{box.id}.json"


def test_a_read_timeout_between_the_write_and_the_restart_rolls_back(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    good = without_manifest(box.files)
    box.fail_restarts = 1  # the engine takes too long to answer the restart
    changed = [OverlayFile.of("main.py", b"print('v2')\n", 0o644)] + OVERLAY[1:]
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, files=changed))
    assert "could not be restarted: UnixHTTPConnectionPool" in str(failure.value)
    assert "previous files were put back and the service is ready again" in str(failure.value)
    result = failure.value.result
    assert result["changed"] and result["rolled_back"]
    assert without_manifest(box.files) == good and not journal_of(tmp_path, box).exists()
    # And the next run does not take the old files for the new ones: it applies v2.
    again = run(FakeClient(box), settings(tmp_path, service, files=changed))
    assert again["status"] == "applied" and again["restarted"]


def test_an_engine_that_dies_mid_apply_leaves_a_journal_the_next_run_repairs(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service))
    good = without_manifest(box.files)

    def engine_dies(container):
        # dockerd stops while the module waits for readiness: the server goes down with it.
        container.engine_down, container.service.mode = True, "down"

    box.on_restart = engine_dies
    changed = [OverlayFile.of("main.py", b"print('v2')\n", 0o644)] + OVERLAY[1:]
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, files=changed))
    assert "kept in the journal" in str(failure.value) and journal_of(tmp_path, box).exists()
    assert box.files["main.py"]["data"] == b"print('v2')\n"  # the bad state is on disk...
    # ...and the engine comes back with the container stopped, as after a dockerd restart.
    box.on_restart, box.engine_down = None, False
    box.stopped(137)
    result = run(FakeClient(box), settings(tmp_path, service, files=OVERLAY))
    assert result["repaired"] and result["changed"] and not journal_of(tmp_path, box).exists()
    assert "interrupted after writing" in " ".join(result["notes"])
    assert without_manifest(box.files) == good and box.attrs["State"]["Running"]
    assert result["status"] == "current"  # the previous overlay is back, running, and what was asked for


def test_files_written_but_never_loaded_are_not_current(tmp_path, service, box):
    first = run(FakeClient(box), settings(tmp_path, service, restart=False))
    assert first["status"] == "applied" and not first["restarted"]
    assert "keeps the old code" in " ".join(first["notes"])
    again = run(FakeClient(box), settings(tmp_path, service, restart=False))
    assert again["status"] == "pending_restart" and not again["changed"]
    now = run(FakeClient(box), settings(tmp_path, service))
    assert now["status"] == "applied" and now["restarted"] and now["changed_files"] == []
    assert now["verification"]["passed"]
    assert run(FakeClient(box), settings(tmp_path, service))["status"] == "current"


def test_an_operator_restart_counts_as_loading_the_files(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service, restart=False))
    box.restart()  # docker restart by hand
    assert run(FakeClient(box), settings(tmp_path, service))["status"] == "current"


# -- checked before the first write ------------------------------------------------
@pytest.mark.parametrize("change, message", [
    (lambda s, u: {"ready_url": "http://127.0.0.1:9/health/ready", "ready_timeout": 1},
     "ready_url http://127.0.0.1:9/health/ready does not answer"),
    (lambda s, u: {"verify": make_verify("http://127.0.0.1:9/v1/audio/transcriptions", SPEECH, REFERENCE,
                                         timeout=5), "ready_timeout": 1},
     "verify.url http://127.0.0.1:9/v1/audio/transcriptions does not answer"),
    (lambda s, u: {"verify": make_verify(u + "/nope", SPEECH, REFERENCE)}, "answers 404: the running server"),
    (lambda s, u: {"verify": make_verify(u + "/t", SPEECH, " ... ")}, "verify.text is empty"),
    (lambda s, u: {"verify": make_verify(u + "/t", s, REFERENCE)}, "verify.audio is not real speech"),
])
def test_wrong_options_fail_before_anything_is_written(tmp_path, service, box, change, message):
    service.not_found = {"/nope"}
    silence = wav_bytes(np.zeros(16000 * 3, dtype=np.int16))
    with pytest.raises(CollectionError, match=message):
        run(FakeClient(box), settings(tmp_path, service, **change(silence, service.url)))
    assert not any(c.startswith(("put_archive", "restart", "exec")) for c in box.calls)
    assert box.files["main.py"]["data"] == STOCK and not journal_of(tmp_path, box).exists()


def test_a_big_folder_beside_the_overlay_is_not_read(tmp_path, service, monkeypatch):
    monkeypatch.setattr(_container_archive, "SKIP_BUDGET", 64 * 1024)
    box = FakeContainer({"main.py": STOCK}, service=service, extra_dirs={"models": 4 * 1024 * 1024})
    assert run(FakeClient(box), settings(tmp_path, service))["status"] == "applied"
    rerun = run(FakeClient(box), settings(tmp_path, service))
    assert rerun["status"] == "current" and box.open_streams == 0


def test_a_log_read_that_times_out_still_rolls_back(tmp_path, service, box):
    """Reading the log tail of the failed start is best effort: the rollback runs whatever it raises."""
    from requests.exceptions import ReadTimeout

    def slow_logs(**_kw):
        raise ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out.")

    box.logs = slow_logs
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, files=[OverlayFile.of("main.py", b"BROKEN\n", 0o644)]))
    assert "could not read the container logs: UnixHTTPConnectionPool" in str(failure.value)
    assert failure.value.result["rolled_back"] and "service is ready again" in str(failure.value)
    assert box.files["main.py"]["data"] == STOCK and box.live["Running"] and not journal_of(tmp_path, box).exists()


def test_files_written_after_a_repair_are_stamped_with_the_repair_restart(tmp_path, service, box):
    """The repair restarts the container; files written after it are not loaded until the next restart."""
    v2 = [OverlayFile.of("main.py", b"print('v2')\n", 0o644)]
    run(FakeClient(box), settings(tmp_path, service))
    box.on_restart = lambda c: setattr(c, "engine_down", True)  # dockerd goes away right after the restart
    with pytest.raises(OverlayFailure, match="kept in the journal"):
        run(FakeClient(box), settings(tmp_path, service, files=v2))
    box.on_restart, box.engine_down = None, False
    repaired = run(FakeClient(box), settings(tmp_path, service, files=v2, restart=False))
    assert repaired["repaired"] and repaired["status"] == "applied"
    assert json.loads(box.files[MANIFEST_NAME]["data"])["written_during"] == box.live["StartedAt"]
    again = run(FakeClient(box), settings(tmp_path, service, files=v2, restart=False))
    assert again["status"] == "pending_restart"  # not "current": the server started before v2 was written


def test_a_manifest_only_rewrite_restarts_nothing_now_or_on_the_next_run(tmp_path, service, box):
    """A new version label, or overlay bytes already in place without a manifest: no content changes, so the
    running server serves them as before; the next run is a no-op, not an activation."""
    run(FakeClient(box), settings(tmp_path, service, version="2025.06-1"))
    relabel = run(FakeClient(box), settings(tmp_path, service, version="2025.06-2"))
    assert relabel["changed"] and not relabel["restarted"] and relabel["changed_files"] == []
    again = run(FakeClient(box), settings(tmp_path, service, version="2025.06-2"))
    assert again["status"] == "current" and not again["changed"] and not again["restarted"] and box.restarts == 1
    fresh = FakeContainer({f.name: f.data for f in OVERLAY}, service=service)  # the bytes, but no manifest yet
    first = run(FakeClient(fresh), settings(tmp_path / "other", service))
    assert first["changed"] and not first["restarted"] and MANIFEST_NAME in fresh.files
    second = run(FakeClient(fresh), settings(tmp_path / "other", service))
    assert second["status"] == "current" and not second["changed"] and fresh.restarts == 0


def test_a_manifest_only_rewrite_of_files_never_loaded_keeps_them_pending(tmp_path, service, box):
    run(FakeClient(box), settings(tmp_path, service, restart=False))
    relabel = run(FakeClient(box), settings(tmp_path, service, restart=False, version="2"))
    assert relabel["changed"] and not relabel["restarted"]
    assert run(FakeClient(box), settings(tmp_path, service, restart=False, version="2"))["status"] == "pending_restart"


def test_a_failed_check_after_files_were_written_reports_changed(tmp_path, service, box):
    """verify.when=always checks the running server even when this run did not restart it; when that check
    fails after this run wrote files, the task still says it changed the container."""
    always = make_verify(service.url + "/t", SPEECH, REFERENCE, when="always")
    service.transcript = "something else entirely"  # the running server mis-hears
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, verify=always, restart=False))
    assert failure.value.result["changed"] and box.files["main.py"]["data"] == OVERLAY[0].data
    service.transcript = REFERENCE
    run(FakeClient(box), settings(tmp_path, service, verify=always))
    service.transcript = "something else entirely"
    with pytest.raises(OverlayFailure, match="does not run code this run wrote") as failure:
        run(FakeClient(box), settings(tmp_path, service, verify=always, mode=0o600))  # mode only: no restart
    assert failure.value.result["changed"] and box.files["main.py"]["mode"] == 0o600
    with pytest.raises(OverlayFailure) as failure:
        run(FakeClient(box), settings(tmp_path, service, verify=always, mode=0o600))  # nothing to write
    assert not failure.value.result["changed"]


def test_originals_of_two_folders_of_one_image_are_kept_apart(tmp_path, service):
    """/app/utils.py and /app/plugins/utils.py are two originals; absent puts back only the folder's own."""
    app = FakeContainer({"main.py": b"app main", "utils.py": b"app utils"}, service=service)
    plugins = FakeContainer({"utils.py": b"plugin utils"}, dest="/app/plugins", service=service)
    run(FakeClient(app), settings(tmp_path, service, verify=None, files=[
        OverlayFile.of("main.py", b"patched main", 0o644), OverlayFile.of("utils.py", b"patched utils", 0o644)]))
    applied = run(FakeClient(plugins), settings(tmp_path, service, verify=None, dest="/app/plugins",
                                                files=[OverlayFile.of("utils.py", b"patched plugin", 0o644)]))
    assert applied["backup"]["recorded"] == ["utils.py"]
    restored = run(FakeClient(plugins), settings(tmp_path, service, verify=None, dest="/app/plugins", state="absent"))
    assert restored["status"] == "restored" and restored["changed_files"] == ["utils.py"]
    assert {n: f["data"] for n, f in plugins.files.items()} == {"utils.py": b"plugin utils"}
    run(FakeClient(app), settings(tmp_path, service, verify=None, state="absent"))
    assert {n: f["data"] for n, f in app.files.items()} == {"main.py": b"app main", "utils.py": b"app utils"}
