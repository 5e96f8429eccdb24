# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Word error rate of a transcript against its reference, after normalising.

Private to this collection. Both texts are normalised the same way before
jiwer counts the edits: lower case, numbers written as words (num2words, so
"9" and "nine", "21st" and "twenty-first", "2024" and "twenty twenty-four"
compare equal), hyphens and punctuation dropped, whitespace collapsed.
"""
from __future__ import annotations

import re

from ansible_collections.spark_control.audio.plugins.module_utils import _deps

jiwer = _deps.optional("jiwer")

# A number as written in a transcript: "9", "1,000", "3.5", "21st", "50%".
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(st|nd|rd|th)?(%)?(?![\w])")
_SEPARATORS = re.compile(r"[-\u2010-\u2015/]")
# Apostrophes inside words stay ("don't"); every other non-word character goes.
_PUNCTUATION = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")
_SPACES = re.compile(r"\s+")


def num2words(number: int | float, to: str = "cardinal") -> str:
    """num2words, imported on the first number: most reference texts and transcripts have none
    (a module checks with ``_deps.check(module, "num2words")`` that it can be found)."""
    from num2words import num2words as spell

    return spell(number, to=to)


def _spell(match: re.Match) -> str:
    whole, fraction, ordinal, percent = match.groups()
    number = whole.replace(",", "")
    if ordinal and not fraction:
        words = num2words(int(number), to="ordinal")
    elif fraction:
        words = num2words(float(number + fraction))
    elif "," not in whole and len(number) == 4 and 1100 <= int(number) < 2100 and not percent:
        words = num2words(int(number), to="year")  # "2024" is said "twenty twenty-four"
    else:
        words = num2words(int(number))
    # num2words says "one hundred and five"; speech and transcripts often drop the "and".
    words = words.replace(" and ", " ")
    return f" {words} percent " if percent else f" {words} "


def normalise(text: str) -> str:
    """Lower case, numbers as words, no punctuation, single spaces."""
    text = _NUMBER.sub(_spell, text.lower())
    text = _SEPARATORS.sub(" ", text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """jiwer's WER of the normalised texts; an empty reference counts as 1.0 unless
    the hypothesis is empty too."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))
