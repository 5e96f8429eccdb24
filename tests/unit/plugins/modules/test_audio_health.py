"""The audio_health module end to end (in-process) against a scripted local server."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.spark_control.audio.plugins.modules import audio_health

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import AUDIO, Reply, ScriptedServer, fixture, silence

SINGLE, SINGLE_TEXT = fixture("single_speaker")


def call(args: dict, capsys) -> tuple[int, dict]:
    with patch_module_args(args):
        with pytest.raises(SystemExit) as info:
            audio_health.main()
    return info.value.code, json.loads(capsys.readouterr().out)


def wire(data: bytes) -> dict:
    return {"data": base64.b64encode(data).decode(), "sha256": hashlib.sha256(data).hexdigest()}


def routes(text: str = SINGLE_TEXT) -> dict:
    return {"GET /health": Reply(200, {}), "POST /v1/audio/transcriptions": Reply(200, {"text": text})}


def stt_only(url: str, **extra) -> dict:
    return {"control_url": "", "stt_url": url, "tts_url": url, "probes": ["liveness", "stt"],
            "audio_files": [{"path": str(AUDIO / "single_speaker.wav"), "reference": SINGLE_TEXT}], **extra}


def test_healthy_stt_run_reports_unchanged(capsys):
    with ScriptedServer(routes()) as srv:
        code, out = call(stt_only(srv.url), capsys)
    assert code == 0 and out["changed"] is False and out["healthy"] is True
    assert [p["name"] for p in out["probes"]] == ["input_guard:single_speaker", "liveness", "stt:single_speaker"]
    assert out["requests"]["count"] == 3


def test_unhealthy_run_fails_with_the_probe_named(capsys):
    with ScriptedServer(routes("completely different words here")) as srv:
        code, out = call(stt_only(srv.url), capsys)
    assert code == 1 and out["failed"] is True
    assert out["failures"] == {"stt:single_speaker": "wer_exceeded"}
    assert out["msg"].startswith("audio host unhealthy: stt:single_speaker [wer_exceeded]")


def test_fail_on_unhealthy_false_reports_without_failing(capsys):
    with ScriptedServer(routes("completely different words here")) as srv:
        code, out = call(stt_only(srv.url, fail_on_unhealthy=False), capsys)
    assert code == 0 and out["healthy"] is False and "failed" not in out
    assert out["failed_probes"] == ["stt:single_speaker"]


def test_audio_shipped_by_the_action_is_used_and_checked(capsys, tmp_path):
    quiet = silence()
    args = stt_only("http://127.0.0.1:9", audio_files=[{"path": "/controller/only.wav"}],
                    _audio={"/controller/only.wav": wire(quiet)})
    code, out = call(args, capsys)
    assert code == 1 and out["failures"] == {"input_guard:only": "bad_input"}
    assert "it is silence" in out["msg"]
    args["_audio"]["/controller/only.wav"]["sha256"] = "0" * 64
    code, out = call(args, capsys)
    assert code == 1 and "corrupted in transfer" in out["msg"]


def test_api_token_is_not_logged(capsys):
    with ScriptedServer(routes()) as srv:
        code, out = call(stt_only(srv.url, api_token="t0ps3cret"), capsys)
    assert code == 0
    assert "t0ps3cret" not in json.dumps(out)
    assert srv.requests[0]["headers"]["Authorization"] == "Bearer t0ps3cret"


@pytest.mark.parametrize("args, words", [
    ({"control_url": ""}, "both stt_url and tts_url are needed"),
    ({"via": "direct", "stt_url": "http://x"}, "both stt_url and tts_url"),
    ({"wer_threshold": 1.5}, "between 0 and 1"),
    ({"probes": ["stt"], "audio_files": []}, "needs audio_files"),
    ({"probes": ["diarization"]}, "needs diarization_file"),
])
def test_bad_options_fail_with_a_clear_message(capsys, args, words):
    code, out = call(args, capsys)
    assert code == 1 and words in out["msg"]
    assert "Traceback" not in out["msg"]


def defaults(**overrides) -> dict:
    params = {k: v.get("default") for k, v in audio_health.ARGUMENT_SPEC.items()}
    params.update(audio_files=[{"path": "a.wav", "reference": None, "name": None}],
                  diarization_file={"path": "b.wav", "speakers": 2, "name": None}, **overrides)
    return params


def test_overlay_is_left_out_of_the_defaults_without_stt_url():
    _settings, probes, not_run = audio_health.settings_from(defaults())
    assert probes == ["liveness", "catalogue", "stt", "diarization", "tts"]
    assert "Spark Control does not proxy /overlay" in not_run["overlay"]
    _settings, probes, not_run = audio_health.settings_from(
        defaults(stt_url="http://127.0.0.1:8010/", expected_overlay={"main.py": "a" * 64}))
    assert "overlay" in probes and not_run == {}
    assert _settings.stt_url == "http://127.0.0.1:8010"


# -- bad input: every one ends in a message that names the option, before any request ---------
# (audio_files: [5] and diarization_file: 5 are refused by the action plugin, which every task
# goes through: ansible-core's own suboption validation answers the first with "must be a list"
# and raises a TypeError on the second, before the module's code runs.)
def _not_pem(tmp_path) -> dict:
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    return {"ca_path": str(tmp_path / "ca.pem")}


BAD_INPUT = {
    "timeout zero": ({"timeout": 0}, "timeout must be greater than 0, got 0"),
    "timeout not a number": (
        {"timeout": "soon"},
        "argument 'timeout' is of type str and we were unable to convert to float: "
        "<class 'str'> cannot be converted to a float"),
    "retries negative": ({"retries": -1}, "retries must be at least 0, got -1"),
    "retry_max_time negative": ({"retry_max_time": -5}, "retry_max_time must be at least 0, got -5"),
    "min_speech_seconds negative": ({"min_speech_seconds": -1}, "min_speech_seconds must be greater than 0, got -1"),
    "min_speech_seconds zero": ({"min_speech_seconds": 0}, "min_speech_seconds must be greater than 0, got 0"),
    "wer_threshold above 1": ({"wer_threshold": 1.5}, "wer_threshold must be between 0 and 1, got 1.5"),
    "wer_threshold negative": ({"wer_threshold": -0.1}, "wer_threshold must be between 0 and 1, got -0.1"),
    "max_speakers zero": ({"max_speakers": 0}, "max_speakers must be between 1 and 4, got 0"),
    "max_speakers beyond the diarizer": ({"max_speakers": 5}, "max_speakers must be between 1 and 4, got 5"),
    "two ranges at once": (
        {"timeout": -1, "retries": -2}, "timeout must be greater than 0, got -1; retries must be at least 0, got -2"),
    "speakers zero": (
        {"diarization_file": {"path": "b.wav", "speakers": 0}},
        "diarization_file.speakers must be between 1 and 4, got 0"),
    "speakers above max_speakers": (
        {"diarization_file": {"path": "b.wav", "speakers": 3}, "max_speakers": 2},
        "diarization_file.speakers is 3, more than max_speakers (2): the diarizer cannot find them all"),
    "lock_timeout not a number": (
        {"lock_timeout": "abc"},
        "argument 'lock_timeout' is of type str and we were unable to convert to float: "
        "<class 'str'> cannot be converted to a float"),
    "control_url without a scheme": (
        {"control_url": "localhost:9999"},
        "control_url 'localhost:9999' is not an http:// or https:// URL with a host: give e.g. http://127.0.0.1:8010"),
    "stt_url with a bad port": (
        {"stt_url": "http://127.0.0.1:port"},
        "stt_url 'http://127.0.0.1:port' is not a valid URL (Port could not be cast to integer value as 'port'): "
        "give e.g. http://127.0.0.1:8010"),
    "tts_url of another scheme": (
        {"tts_url": "ftp://127.0.0.1/"},
        "tts_url 'ftp://127.0.0.1/' is not an http:// or https:// URL with a host: give e.g. http://127.0.0.1:8010"),
    "ca_path missing": (
        {"ca_path": "/nonexistent/ca.pem"},
        "ca_path /nonexistent/ca.pem does not exist on the host the module runs on: give the PEM file of the CA "
        "that signed the services' certificates (a path on the audio host)"),
    "empty reference": (
        {"audio_files": [{"path": "a.wav", "reference": ""}]},
        "audio_files[0].reference for a.wav has no words (''): give the words spoken in the recording, or leave "
        "reference unset to only require a non-empty transcript"),
    "reference of punctuation only": (
        {"audio_files": [{"path": "a.wav", "reference": "..."}]},
        "audio_files[0].reference for a.wav has no words ('...')"),
    "two audio_files of one name": (
        {"audio_files": [{"path": "day1/standup.wav", "reference": "hello"}, {"path": "day2/standup.wav"}]},
        "audio_files day1/standup.wav and day2/standup.wav are both named 'standup' (the probe stt:standup): give "
        "one of them its own name (audio_files[].name), or list a file once"),
    "no voices for the tts probe": (
        {"voices": []}, "the tts probe needs voices, each a voice id such as af_heart; got []"),
    "an empty voice": (
        {"voices": ["af_heart", " "]}, "the tts probe needs voices, each a voice id such as af_heart; got ['af_heart', ' ']"),
    "tts_text without words": (
        {"tts_text": " - "}, "tts_text ' - ' has no words to speak and hear back: give a sentence"),
    "probe that does not exist": (
        {"probes": ["latency"]},
        "value of probes must be one or more of: liveness, catalogue, overlay, stt, diarization, tts. "
        "Got no match for: latency"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_named_before_any_request(capsys, case):
    args, message = BAD_INPUT[case]
    with ScriptedServer({}) as srv:
        base = {"control_url": srv.url, "audio_files": [{"path": "a.wav", "reference": "hello there"}],
                "diarization_file": {"path": "b.wav", "speakers": 2}}
        code, out = call(base | args, capsys)
    assert code == 1 and out["failed"] and not out.get("changed")
    assert message in out["msg"], out["msg"]
    assert "unexpectedly" not in out["msg"] and "Traceback" not in out["msg"]
    assert srv.requests == []


def test_ca_path_that_is_not_pem_is_named(capsys, tmp_path):
    code, out = call(_not_pem(tmp_path), capsys)
    assert code == 1
    assert out["msg"].startswith(f"ca_path {tmp_path}/ca.pem holds no usable PEM CA certificate ([X509: "
                                 "NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found")


def test_https_to_the_http_port_is_not_called_a_certificate_problem(capsys):
    with ScriptedServer(routes()) as srv:
        url = srv.url.replace("http://", "https://")
        code, out = call(stt_only(url, validate_certs=False, probes=["liveness"]), capsys)
    assert code == 1 and out["failures"] == {"liveness": "service_down"}
    (liveness,) = [p for p in out["probes"] if p["name"] == "liveness"]
    assert "does not speak TLS on that port" in liveness["message"]
    assert "validate_certs" not in out["msg"]
