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
