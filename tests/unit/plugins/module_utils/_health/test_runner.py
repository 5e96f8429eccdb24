"""The probes and the runner against a scripted local server: each failure is named."""
from __future__ import annotations

import json

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._http import HttpClient
from ansible_collections.spark_control.audio.plugins.module_utils._health.verdicts import Verdicts
from ansible_collections.spark_control.audio.plugins.module_utils._health.result import FAILURES, Settings
from ansible_collections.spark_control.audio.plugins.modules import audio_health
from ansible_collections.spark_control.audio.plugins.module_utils._health.runner import InputError, run

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import Reply, ScriptedServer, fixture, silence, tone

SINGLE, SINGLE_TEXT = fixture("single_speaker")
TWO, TWO_TEXT = fixture("two_speakers")
OVERLAY = {"main.py": "a" * 64, "diarizer.py": "b" * 64}
TTS_TEXT = SINGLE_TEXT  # the TTS stand-in answers with the single-speaker recording


def transcript(text: str) -> Reply:
    return Reply(200, {"text": text})


def diarized(speakers: int) -> Reply:
    segments = [{"id": i, "start": i, "end": i + 1, "text": "x", "speaker": f"speaker_{i % speakers}"}
                for i in range(max(speakers, 1) * 2)]
    return Reply(200, {"text": TWO_TEXT, "segments": segments, "speakers": speakers})


def healthy_routes() -> dict:
    return {
        "GET /health": Reply(200, {"status": "ok"}),
        "GET /api/status": Reply(200, {"vllm": {"current_model": "llm/x"},
                                       "services": {"stt": {"up": True}, "tts": {"up": True}}}),
        "GET /v1/models": Reply(200, {"data": [{"id": "parakeet-tdt-0.6b-v2"}, {"id": "af_heart"}]}),
        "GET /overlay": Reply(200, {"version": "v1", "files": OVERLAY}),
        "POST /v1/audio/speech": Reply(200, SINGLE),
        # stt:single_speaker, stt:two_speakers, diarization, tts round trip
        "POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), transcript(TWO_TEXT), diarized(2),
                                          transcript(TTS_TEXT)],
    }


def settings(url: str, **overrides) -> Settings:
    values = dict(
        client=HttpClient(retries=3, backoff=0.01, retry_max_time=10), control_url=url, stt_url=url, tts_url=None,
        tts_text=TTS_TEXT,
        fixtures=[{"name": "single_speaker", "path": "single_speaker.wav", "data": SINGLE, "reference": SINGLE_TEXT},
                  {"name": "two_speakers", "path": "two_speakers.wav", "data": TWO, "reference": TWO_TEXT}],
        diarization={"name": "two_speakers", "path": "two_speakers.wav", "data": TWO, "speakers": 2},
        expected_overlay=dict(OVERLAY))
    values.update(overrides)
    values.setdefault("via", "control")  # what the module makes of via=auto with a control_url
    values.setdefault("verdicts", Verdicts(None))
    # The rest as the module passes them: its argument spec's defaults.
    for name in Settings.__dataclass_fields__:
        values.setdefault(name, audio_health.ARGUMENT_SPEC.get(name, {}).get("default"))
    return Settings(**values)


ALL = ["liveness", "catalogue", "overlay", "stt", "diarization", "tts"]


def probe(result: dict, name: str) -> dict:
    return next(p for p in result["probes"] if p["name"] == name)


def test_healthy_run_passes_every_probe_in_order():
    with ScriptedServer(healthy_routes()) as srv:
        result = run(settings(srv.url), ALL)
    assert result["healthy"], result["summary"]
    assert [p["name"] for p in result["probes"]] == [
        "input_guard:single_speaker", "input_guard:two_speakers", "liveness", "catalogue", "overlay",
        "stt:single_speaker", "stt:two_speakers", "diarization", "tts:af_heart"]
    assert result["llm_model"] == "llm/x"
    assert probe(result, "diarization")["details"]["speakers"] == 2
    assert probe(result, "tts:af_heart")["details"]["wer"] == 0.0
    assert srv.max_active == 1  # strictly one request at a time
    sent = [r for r in srv.requests if r["key"] == "POST /v1/audio/transcriptions"]
    assert b'name="diarize"' in sent[2]["body"] and b"parakeet-tdt-0.6b-v2" in sent[0]["body"]


def run_with(**route_overrides):
    routes = healthy_routes()
    routes.update(route_overrides)
    with ScriptedServer(routes) as srv:
        return run(settings(srv.url), ALL), srv


def test_garbled_transcripts_fail_with_wer_exceeded():
    garbled = " ".join(w[::-1] for w in SINGLE_TEXT.split())
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": [transcript(garbled), transcript(TWO_TEXT),
                                                                    diarized(2), transcript(TTS_TEXT)]})
    assert result["failures"] == {"stt:single_speaker": "wer_exceeded"}
    assert "exceeds 0.25" in probe(result, "stt:single_speaker")["message"]


def test_cuda_hazard_is_named():
    crash = Reply(500, {"error": {"message": "CUDA error: an illegal memory access was encountered"}})
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": crash})
    assert set(result["failures"].values()) == {"decoder_crash"}
    assert "cuda-python" in probe(result, "stt:single_speaker")["message"]


def test_503_storm_is_retried_then_succeeds():
    storm = [Reply(503, {}, {"Retry-After": "0"})] * 2
    result, srv = run_with(**{"POST /v1/audio/transcriptions": storm + healthy_routes()[
        "POST /v1/audio/transcriptions"]})
    assert result["healthy"], result["summary"]
    assert srv.count("POST /v1/audio/transcriptions") == 6


def test_endless_503_is_unavailable():
    result, _unused = run_with(**{"POST /v1/audio/speech": Reply(503, {"error": {"message": "busy"}}, {"Retry-After": "0"})})
    assert result["failures"] == {"tts:af_heart": "unavailable"}
    assert "after 4 tries" in probe(result, "tts:af_heart")["message"]


def test_tts_silence_is_named():
    result, _unused = run_with(**{"POST /v1/audio/speech": Reply(200, silence(4.0))})
    assert result["failures"] == {"tts:af_heart": "tts_silence"}


def test_tts_tone_is_not_speech():
    result, _unused = run_with(**{"POST /v1/audio/speech": Reply(200, tone(440, 4.0))})
    assert result["failures"] == {"tts:af_heart": "tts_silence"}
    assert "tone" in probe(result, "tts:af_heart")["message"]


def test_tts_implausible_duration():
    result, _unused = run_with(**{"POST /v1/audio/speech": Reply(200, silence(0.6))})
    assert result["failures"] == {"tts:af_heart": "tts_duration"}


def test_tts_not_a_wav():
    result, _unused = run_with(**{"POST /v1/audio/speech": Reply(200, b"ID3 mp3 bytes")})
    assert result["failures"] == {"tts:af_heart": "tts_bad_wav"}


def test_overlay_missing_after_recreate():
    result, _unused = run_with(**{"GET /overlay": Reply(404, {"detail": "Not Found"})})
    assert result["failures"] == {"overlay": "overlay_missing"}
    assert probe(result, "overlay")["message"] == ("overlay missing after container recreate: "
                                                   "run reapply_patches.yml")


def test_overlay_drift_names_the_files():
    live = {"main.py": "c" * 64, "extra.py": "d" * 64}
    result, _unused = run_with(**{"GET /overlay": Reply(200, {"version": "old", "files": live})})
    assert result["failures"] == {"overlay": "overlay_drift"}
    details = probe(result, "overlay")["details"]
    assert (details["differ"], details["missing"], details["extra"]) == (["main.py"], ["diarizer.py"], ["extra.py"])


def test_stock_server_has_no_diarization():
    plain = Reply(200, {"text": TWO_TEXT, "segments": [{"id": 0, "start": 0, "end": 1, "text": "x"}]})
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), transcript(TWO_TEXT), plain,
                                                                    transcript(TTS_TEXT)]})
    assert result["failures"] == {"diarization": "diarization_unsupported"}


@pytest.mark.parametrize("speakers, words", [(1, "expected 2"), (5, "4 at most")])
def test_wrong_speaker_counts(speakers, words):
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), transcript(TWO_TEXT),
                                                                    diarized(speakers), transcript(TTS_TEXT)]})
    assert result["failures"] == {"diarization": "wrong_speaker_count"}
    assert words in probe(result, "diarization")["message"]


def test_catalogue_missing_voice():
    result, _unused = run_with(**{"GET /v1/models": Reply(200, {"data": [{"id": "parakeet-tdt-0.6b-v2"}]})})
    assert result["failures"] == {"catalogue": "catalogue_missing"}
    assert "af_heart" in probe(result, "catalogue")["message"]


def test_backend_down_per_spark_control_is_service_down():
    status = {"vllm": {"current_model": "m"}, "services": {"tts": {"url": "http://x:8880", "up": False}}}
    result, _unused = run_with(**{"GET /api/status": Reply(200, status)})
    assert result["failures"]["liveness"] == "service_down"
    assert "tts" in probe(result, "liveness")["message"]


def test_connection_refused_is_reported_per_probe_not_raised():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = run(settings(dead), ALL)
    assert not result["healthy"]
    assert result["failures"]["liveness"] == "service_down"
    assert result["failures"]["stt:single_speaker"] == "connection"
    assert result["failures"]["tts:af_heart"] == "connection"


def test_input_guard_refuses_silence_and_sends_nothing():
    with ScriptedServer(healthy_routes()) as srv:
        result = run(settings(srv.url, fixtures=[{"name": "quiet", "path": "/tmp/quiet.wav", "data": silence()}]),
                     ["liveness", "stt"])
    assert not result["healthy"] and srv.requests == []
    assert result["failures"] == {"input_guard:quiet": "bad_input"}
    message = probe(result, "input_guard:quiet")["message"]
    assert "refusing /tmp/quiet.wav: it is silence" in message and "skip the decoder" in message


@pytest.mark.parametrize("voices", [["af_heart"], [{"id": "af_heart", "name": "Heart"}]],
                         ids=["names", "objects"])
def test_direct_mode_uses_the_services_urls(voices):
    tts_routes = healthy_routes() | {"GET /v1/audio/voices": Reply(200, {"voices": voices})}
    with ScriptedServer(healthy_routes()) as stt, ScriptedServer(tts_routes) as tts:
        result = run(settings(None, control_url=None, stt_url=stt.url, tts_url=tts.url, via="direct",
                              voices=["af_heart"]), ["catalogue", "tts"])
    assert result["healthy"], result["summary"]
    assert tts.count("GET /v1/audio/voices") == 1 and stt.count("GET /v1/models") == 1
    assert tts.count("POST /v1/audio/speech") == 1
    assert stt.count("POST /v1/audio/transcriptions") == 1


def test_failure_codes_are_documented():
    doc = open(__import__("ansible_collections.spark_control.audio.plugins.modules.audio_health",
                          fromlist=["x"]).__file__).read()
    for code in FAILURES:
        assert f"C({code})" in doc, code


def test_result_is_json_serialisable():
    with ScriptedServer(healthy_routes()) as srv:
        result = run(settings(srv.url), ALL)
    json.dumps(result)


def test_bad_gateway_from_spark_control_is_service_down():
    gateway = Reply(502, {"error": {"message": "upstream http://127.0.0.1:8880/v1/audio/speech did not answer"}})
    result, _unused = run_with(**{"POST /v1/audio/speech": gateway})
    assert result["failures"] == {"tts:af_heart": "service_down"}
    assert "is its container running?" in probe(result, "tts:af_heart")["message"]


def test_files_sharing_a_name_are_refused_naming_both_before_any_request():
    """day1/standup.wav (silent) and day2/standup.wav (speech) were judged and sent as one: day1 passed unheard."""
    files = [{"name": "standup", "path": "day1/standup.wav", "data": silence(5)},
             {"name": "standup", "path": "day2/standup.wav", "data": TWO}]
    with ScriptedServer(healthy_routes()) as srv:
        with pytest.raises(InputError) as info:
            run(settings(srv.url, fixtures=files), ["liveness", "stt"])
    assert srv.requests == []
    assert "day1/standup.wav and day2/standup.wav are both named 'standup'" in str(info.value)
    assert "audio_files[].name" in str(info.value)


def sent_audio(srv: ScriptedServer) -> list[str]:
    """Which fixture each transcription request carried."""
    known = {"single": SINGLE, "two": TWO}
    return [next(k for k, v in known.items() if v in r["body"]) for r in srv.requests
            if r["key"] == "POST /v1/audio/transcriptions"]


def test_own_recording_named_like_the_default_diarization_file_is_judged_and_sent_itself():
    # The action plugin always adds the shipped two_speakers.wav as diarization_file.
    own = [{"name": "two_speakers", "path": "/home/me/two_speakers.wav", "data": SINGLE, "reference": SINGLE_TEXT}]
    routes = healthy_routes() | {"POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), diarized(2)]}
    with ScriptedServer(routes) as srv:
        result = run(settings(srv.url, fixtures=own), ["stt", "diarization"])
    assert result["healthy"], result["summary"]
    assert [p["name"] for p in result["probes"]] == [
        "input_guard:two_speakers", "input_guard:diarization:two_speakers", "stt:two_speakers", "diarization"]
    assert probe(result, "input_guard:two_speakers")["details"]["file"] == "/home/me/two_speakers.wav"
    assert probe(result, "input_guard:diarization:two_speakers")["details"]["file"] == "two_speakers.wav"
    assert sent_audio(srv) == ["single", "two"]


def test_a_silent_own_recording_named_like_the_diarization_file_is_refused():
    own = [{"name": "two_speakers", "path": "/home/me/two_speakers.wav", "data": silence(5)}]
    with ScriptedServer(healthy_routes()) as srv:
        result = run(settings(srv.url, fixtures=own), ["stt", "diarization"])
    assert srv.requests == [] and not result["healthy"]
    assert result["failures"] == {"input_guard:two_speakers": "bad_input"}
    assert "refusing /home/me/two_speakers.wav: it is silence" in probe(result, "input_guard:two_speakers")["message"]


def test_the_same_file_for_stt_and_diarization_is_judged_once():
    with ScriptedServer(healthy_routes()) as srv:
        result = run(settings(srv.url), ["stt", "diarization"])
    assert [p["name"] for p in result["probes"]] == [
        "input_guard:single_speaker", "input_guard:two_speakers", "stt:single_speaker", "stt:two_speakers",
        "diarization"]
    assert sent_audio(srv) == ["single", "two", "two"]


def no_turns(text: str) -> Reply:
    """The overlay's answer when its diarizer found no turn: the transcript's segments, no speaker, speakers 0."""
    segments = [{"id": 0, "start": 0.0, "end": 7.0, "text": text}] if text else []
    return Reply(200, {"text": text, "segments": segments, "speakers": 0, "speaker_limit_reached": False})


def test_no_speaker_turns_with_a_transcript_is_not_called_a_missing_overlay():
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), transcript(TWO_TEXT),
                                                                    no_turns(TWO_TEXT), transcript(TTS_TEXT)]})
    assert result["failures"] == {"diarization": "wrong_speaker_count"}
    message = probe(result, "diarization")["message"]
    assert "found no speaker turns in two_speakers, though the overlay is loaded" in message
    assert "reapply" not in message and probe(result, "diarization")["details"]["text"] == TWO_TEXT


def test_no_speaker_turns_and_no_words_is_an_empty_transcript():
    result, _unused = run_with(**{"POST /v1/audio/transcriptions": [transcript(SINGLE_TEXT), transcript(TWO_TEXT),
                                                                    no_turns(""), transcript(TTS_TEXT)]})
    assert result["failures"] == {"diarization": "wer_exceeded"}
    assert probe(result, "diarization")["message"] == "diarized transcript of two_speakers: the transcript is empty"
