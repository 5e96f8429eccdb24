"""Times never reach past the audio: asr_types.clip_transcript /
clip_diarization, applied once for every engine by main._decode_job."""
from __future__ import annotations

import numpy as np

import asr_formats
import main
from asr_types import Diarization, Segment, Transcript, Turn, Word, clip_diarization, clip_transcript


def test_clip_transcript_keeps_times_inside_the_audio():
    # Parakeet's 80 ms frames: the last word of a 7.384 s clip ends at 7.44 s.
    words = [Word("good", 0.0, 0.4), Word("morning.", 6.96, 7.44)]
    out = clip_transcript(Transcript("good morning.", [Segment(-0.02, 7.52, "good morning.", "speaker_0", words)],
                                     words, "en"), 7.384)
    assert [(w.text, w.start, w.end) for w in out.words] == [("good", 0.0, 0.4), ("morning.", 6.96, 7.384)]
    (seg,) = out.segments
    assert (seg.start, seg.end, seg.text, seg.speaker) == (0.0, 7.384, "good morning.", "speaker_0")
    assert seg.words[-1].end == 7.384 and out.text == "good morning." and out.language == "en"


def test_a_word_wholly_past_the_end_collapses_onto_it():
    out = clip_transcript(Transcript("a b", [], [Word("a", 0.1, 0.5), Word("b", 0.62, 0.7)]), 0.6)
    assert [(w.start, w.end) for w in out.words] == [(0.1, 0.5), (0.6, 0.6)]


def test_clip_diarization_trims_and_drops_turns():
    diar = Diarization([Turn(0, 0.0, 7.43), Turn(1, 7.384, 7.5), Turn(2, 3.0, 4.0)], limit_reached=True)
    out = clip_diarization(diar, 7.384)
    assert out.turns == [Turn(0, 0.0, 7.384), Turn(2, 3.0, 4.0)] and out.limit_reached


class _PastTheEnd:
    """An engine whose frame times overshoot the audio, as NeMo's do."""

    def transcribe(self, samples, words=False):
        end = len(samples) / 16000 + 0.056
        return Transcript("x y", [Segment(0.0, end, "x y")], [Word("x", 0.0, 0.08), Word("y", 0.08, end)])

    def diarize(self, samples):
        return Diarization([Turn(0, 0.0, len(samples) / 16000 + 0.05)])


def test_decode_job_clips_every_engine_answer():
    samples = np.zeros(118144, dtype=np.float32)           # 7.384 s
    transcript, diar = main._decode_job(_PastTheEnd(), samples, diarize=True, words=True)
    assert transcript.words[-1].end == transcript.segments[-1].end == 7.384
    assert diar.turns[-1].end == 7.384
    body = asr_formats.render("srt", transcript, 7.384).body
    assert "00:00:07,384" in body and "00:00:07,440" not in body
