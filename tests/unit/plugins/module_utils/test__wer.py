"""WER normalisation: case, punctuation and number formats compare equal."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._wer import normalise, word_error_rate


@pytest.mark.parametrize("written, spoken", [
    ("I have 9 apples.", "i have nine apples"),
    ("The 21st of May", "the twenty-first of may"),
    ("In 2024, sales rose", "in twenty twenty-four sales rose"),
    ("50% of 1,000", "fifty percent of one thousand"),
    ("It costs 3.5 dollars", "it costs three point five dollars"),
    ("Room 105", "room one hundred five"),
])
def test_number_formats_compare_equal(written, spoken):
    assert normalise(written) == normalise(spoken)
    assert word_error_rate(spoken, written) == 0.0


def test_case_punctuation_and_hyphens_do_not_count():
    assert word_error_rate("Good morning, everyone! Stop-start.", "good morning everyone stop start") == 0.0


def test_apostrophes_inside_words_are_kept():
    assert normalise("Don't 'quote' me") == "don't quote me"


def test_wrong_words_count():
    assert word_error_rate("the quarterly report is ready", "the quarterly report is late") == pytest.approx(0.2)
    assert word_error_rate("the quarterly report is ready", "eht ylretrauq troper si ydaer") == 1.0


def test_empty_texts():
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("something was said", "") == 1.0
    assert word_error_rate("", "hallucinated words") == 1.0


def test_num2words_is_imported_only_when_a_text_has_a_number():
    """A fresh interpreter: texts without digits (most references) never load num2words."""
    import os
    import subprocess
    import sys

    code = ("import sys\n"
            "from ansible_collections.spark_control.audio.plugins.module_utils._wer import normalise, word_error_rate\n"
            "word_error_rate('send the report today', 'send the report today')\n"
            "print('num2words' in sys.modules)\n"
            "print(normalise('the 21st of 9'), 'num2words' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.splitlines() == ["False", "the twenty first of nine True"]
