"""Reports of audio_health results: JUnit XML, Prometheus text, summary, verdict."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spark_control.audio.plugins.filter.audio_health import FilterModule

F = FilterModule().filters()
HEALTHY = {"healthy": True, "llm_model": "llm/\"x\"", "probes": [
    {"name": "liveness", "ok": True, "latency": 0.01, "details": {}, "message": "ok"},
    {"name": "stt:single_speaker", "ok": True, "latency": 2.5, "details": {}, "message": "ok"}]}
SICK = {"healthy": False, "llm_model": None, "probes": [
    {"name": "overlay", "ok": False, "latency": 0.02, "failure": "overlay_missing",
     "message": "overlay missing after container recreate: run reapply_patches.yml <&>"}]}
RESULTS = {"spark2": HEALTHY, "spark3": SICK, "spark4": {"msg": "lock timeout"}}


def test_junit_has_a_suite_per_host_and_a_failure_per_failed_probe():
    root = ET.fromstring(F["audio_health_junit"](RESULTS))
    assert root.get("tests") == "4" and root.get("failures") == "2"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"spark2", "spark3", "spark4"}
    failure = suites["spark3"].find("testcase/failure")
    assert failure.get("type") == "overlay_missing" and failure.text.endswith("<&>")
    assert suites["spark4"].find("testcase/failure").get("message") == "lock timeout"
    assert float(suites["spark2"].get("time")) == pytest.approx(2.51)


def test_prometheus_families_and_escaping():
    text = F["audio_health_prometheus"](RESULTS, 1700000000)
    lines = text.splitlines()
    assert 'spark_audio_probe_success{host="spark2",probe="stt:single_speaker"} 1' in lines
    assert 'spark_audio_probe_success{host="spark3",probe="overlay"} 0' in lines
    assert 'spark_audio_probe_duration_seconds{host="spark2",probe="stt:single_speaker"} 2.500' in lines
    assert 'spark_audio_probe_failure_info{host="spark3",probe="overlay",failure="overlay_missing"} 1' in lines
    assert 'spark_audio_host_healthy{host="spark4"} 0' in lines
    assert 'spark_audio_llm_info{host="spark2",model="llm/\\"x\\""} 1' in lines
    assert 'spark_audio_last_run_timestamp_seconds{host="spark3"} 1700000000' in lines
    for family in ("probe_success", "probe_duration_seconds", "probe_failure_info", "host_healthy", "llm_info",
                   "last_run_timestamp_seconds"):
        assert lines.count(f"# TYPE spark_audio_{family} gauge") == 1
    assert text.endswith("\n")


def stamp_of(text: str, host: str = "spark3") -> float:
    prefix = f'spark_audio_last_run_timestamp_seconds{{host="{host}"}} '
    return float(next(line for line in text.splitlines() if line.startswith(prefix))[len(prefix):])


@pytest.fixture(params=["Europe/Berlin", "America/New_York", "UTC"])
def controller_tz(request, monkeypatch):
    """The process's local time zone, as a controller in that zone has it."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_prometheus_stamps_the_real_unix_time_in_every_time_zone(controller_tz):
    # What ansible-core's now(utc=true) returns: a naive UTC datetime. Its .timestamp() (the role's old
    # expression) reads it as local time; the filter's own stamp must not depend on the zone.
    naive_utc = datetime.now(timezone.utc).replace(tzinfo=None)
    before = time.time()
    stamp = stamp_of(F["audio_health_prometheus"](RESULTS))
    after = time.time()
    assert before - 1 <= stamp <= after + 1, (controller_tz, stamp, before)
    offset = round(naive_utc.timestamp() - before)
    if controller_tz != "UTC":
        assert abs(offset) >= 3600, "the zone has no offset from UTC: the test proves nothing"


def test_prometheus_keeps_a_given_timestamp_and_refuses_one_that_is_not_a_number(controller_tz):
    assert stamp_of(F["audio_health_prometheus"](RESULTS, "1700000000.4")) == 1700000000
    for wrong in ("yesterday", True, float("nan"), datetime.now(timezone.utc)):
        with pytest.raises(AnsibleFilterError, match="timestamp must be Unix seconds .*leave it out"):
            F["audio_health_prometheus"](RESULTS, wrong)


def test_summary_and_verdict():
    lines = F["audio_health_summary"](RESULTS)
    assert lines[0].startswith("spark2: HEALTHY (2/2 probes passed, LLM")
    assert any("FAIL overlay" in line and "[overlay_missing]" in line for line in lines)
    assert "spark4: NO RESULT: lock timeout" in lines
    assert F["audio_health_healthy"]({"spark2": HEALTHY}) is True
    assert F["audio_health_healthy"](RESULTS) is False
    assert F["audio_health_healthy"]({}) is False


def test_summary_says_when_a_host_was_remediated():
    fixed = dict(HEALTHY, remediated=True, first_failures={"overlay": "overlay_missing", "diarization": "x"},
                 started_containers=[], reapplied_overlay=True)
    lines = F["audio_health_summary"]({"spark2": fixed})
    assert lines[1] == ("  remediated: the first run failed (diarization: x, overlay: overlay_missing); reapplied the "
                        "overlay; the probes below are from the second run")
    started = dict(fixed, first_failures={"liveness": "service_down"}, started_containers=["parakeet-asr", "kokoro"],
                   reapplied_overlay=False, remediation_problems=["spark-control does not exist: recreate it"])
    lines = F["audio_health_summary"]({"spark2": started})
    assert lines[1:3] == ["  remediated: the first run failed (liveness: service_down); started parakeet-asr, kokoro; "
                          "the probes below are from the second run",
                          "  remediation problem: spark-control does not exist: recreate it"]
    assert not any("remediated" in line for line in F["audio_health_summary"]({"spark2": HEALTHY}))


def test_wrong_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="mapping of host name"):
        F["audio_health_junit"]([HEALTHY])
