"""Response bodies for every response_format, and the settings parser."""
from __future__ import annotations

import pytest

import asr_formats
import asr_settings
from asr_types import Segment, Transcript, Word

T = Transcript("Hello there. General Kenobi.", [Segment(0.0, 1.2, "Hello there."), Segment(1.5, 3.25, "General Kenobi.")],
               [Word("Hello", 0.0, 0.5), Word("there.", 0.5, 1.2), Word("General", 1.5, 2.2), Word("Kenobi.", 2.2, 3.25)])
DIAR = {"segments": [Segment(0.0, 1.2, "Hello there.", "speaker_0"), Segment(1.5, 3.25, "General Kenobi.", "speaker_1")],
        "speakers": 2, "speaker_limit_reached": False}


def test_json_is_text_only():
    out = asr_formats.render("json", T, 3.3)
    assert out.body == {"text": T.text} and out.media_type == "application/json"


def test_text_is_plain():
    out = asr_formats.render("text", T, 3.3)
    assert out.body == T.text and out.media_type.startswith("text/plain")


def test_verbose_json_segments_and_words():
    body = asr_formats.render("verbose_json", T, 3.3, ("word", "segment")).body
    assert body["task"] == "transcribe" and body["language"] == "en" and body["duration"] == 3.3
    assert body["segments"][1] == {"id": 1, "start": 1.5, "end": 3.25, "text": "General Kenobi."}
    assert body["words"][0] == {"word": "Hello", "start": 0.0, "end": 0.5}
    assert "words" not in asr_formats.render("verbose_json", T, 3.3).body


def test_diarized_json_carries_speakers():
    body = asr_formats.render("json", T, 3.3, speakers=DIAR).body
    assert body["speakers"] == 2 and body["speaker_limit_reached"] is False
    assert [s["speaker"] for s in body["segments"]] == ["speaker_0", "speaker_1"]
    assert set(body["segments"][0]) == {"id", "start", "end", "text", "speaker"}


def test_diarized_verbose_json_has_one_set_of_speaker_segments_in_the_usual_order():
    body = asr_formats.render("verbose_json", T, 3.3, ("word",), speakers=DIAR).body
    assert list(body) == ["task", "language", "duration", "text", "segments", "words", "speakers",
                          "speaker_limit_reached"]
    assert [(s["id"], s["speaker"], s["text"]) for s in body["segments"]] == [
        (0, "speaker_0", "Hello there."), (1, "speaker_1", "General Kenobi.")]
    assert len(body["words"]) == 4
    assert list(asr_formats.render("json", T, 3.3, speakers=DIAR).body) == [
        "text", "segments", "speakers", "speaker_limit_reached"]


def test_verbose_json_words_only_has_no_segments():
    body = asr_formats.render("verbose_json", T, 3.3, ("word",)).body
    assert "segments" not in body and len(body["words"]) == 4


def test_srt_and_vtt_cues():
    srt = asr_formats.render("srt", T, 3.3).body
    assert srt.startswith("1\n00:00:00,000 --> 00:00:01,200\nHello there.\n")
    assert "2\n00:00:01,500 --> 00:00:03,250\nGeneral Kenobi." in srt
    vtt = asr_formats.render("vtt", T, 3.3, speakers=DIAR).body
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.200\n<v speaker_0>Hello there.")
    assert "[speaker_1] General Kenobi." in asr_formats.render("srt", T, 3.3, speakers=DIAR).body


def test_empty_transcript_renders_empty():
    empty = Transcript("")
    assert asr_formats.render("json", empty, 2.0).body == {"text": ""}
    assert asr_formats.render("srt", empty, 2.0).body == ""
    assert asr_formats.render("vtt", empty, 2.0).body.strip() == "WEBVTT"


def test_settings_defaults():
    s = asr_settings.load({})
    assert (s.engine, s.port, s.queue_depth, s.cuda_graphs) == ("nemo", 8010, 8, False)
    assert s.nemo_asr_model == "nvidia/parakeet-tdt-0.6b-v2"
    assert s.nemo_diar_model == "nvidia/diar_sortformer_4spk-v1"


def test_settings_from_env():
    s = asr_settings.load({"ASR_ENGINE": "cpu", "ASR_PORT": "8210", "ASR_QUEUE_DEPTH": "3", "ASR_CUDA_GRAPHS": "on",
                           "STT_MODEL_ID": "parakeet-tdt-0.6b-v3", "ASR_MAX_UPLOAD_MB": "1"})
    assert (s.engine, s.port, s.queue_depth, s.cuda_graphs) == ("cpu", 8210, 3, True)
    assert s.nemo_asr_model == "nvidia/parakeet-tdt-0.6b-v3" and s.max_upload_bytes == 1024 * 1024


@pytest.mark.parametrize("env, name", [({"ASR_ENGINE": "tpu"}, "ASR_ENGINE"), ({"ASR_PORT": "x"}, "ASR_PORT"),
                                       ({"ASR_QUEUE_DEPTH": "0"}, "ASR_QUEUE_DEPTH"),
                                       ({"ASR_CUDA_GRAPHS": "maybe"}, "ASR_CUDA_GRAPHS")])
def test_bad_settings_name_the_variable(env, name):
    with pytest.raises(asr_settings.SettingsError, match=name):
        asr_settings.load(env)


@pytest.mark.parametrize("raw, engine", [("nemo", "nemo"), ("CPU", "cpu"), ("", "nemo"),
                                         ("my_site.engines:GpuEngine", "my_site.engines:GpuEngine")])
def test_asr_engine_is_a_built_in_name_or_module_class(raw, engine):
    assert asr_settings.load({"ASR_ENGINE": raw}).engine == engine


@pytest.mark.parametrize("raw", ["tpu", "module:", ":Class", "a b:C", "mod:Cls.attr", "/path/x.py:C"])
def test_asr_engine_refuses_anything_else_with_the_choices(raw):
    with pytest.raises(asr_settings.SettingsError, match="nemo .*cpu .*module:Class"):
        asr_settings.load({"ASR_ENGINE": raw})


@pytest.mark.parametrize("raw, default, value", [("on", False, True), ("YES", False, True), ("1", False, True),
                                                 ("off", True, False), ("false", True, False), ("", True, True),
                                                 ("  ", False, False)])
def test_one_switch_parser_for_settings_and_form_fields(raw, default, value):
    assert asr_settings.switch(raw, default) is value


def test_switch_refuses_other_words():
    with pytest.raises(ValueError, match="maybe"):
        asr_settings.switch("maybe", False)


def test_request_bounds_from_env():
    s = asr_settings.load({"ASR_BODY_TIMEOUT_S": "2.5", "ASR_DECODE_CONCURRENCY": "3",
                           "ASR_MAX_SOURCE_MSAMPLES": "1.5"})
    assert (s.body_timeout, s.decode_concurrency, s.max_source_samples) == (2.5, 3, 1_500_000)
    d = asr_settings.load({})
    assert (d.body_timeout, d.decode_concurrency, d.max_source_samples) == (120.0, 2, 140_000_000)
    with pytest.raises(asr_settings.SettingsError, match="ASR_DECODE_CONCURRENCY"):
        asr_settings.load({"ASR_DECODE_CONCURRENCY": "0"})
