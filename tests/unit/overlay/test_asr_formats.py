"""asr_formats: the response body for every response_format."""
from __future__ import annotations

import asr_formats
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
