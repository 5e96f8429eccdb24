"""The declarative range table: messages name the option, the range and the value."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._option_ranges import Range, problems

TABLE = {
    "timeout": Range(low=0, low_open=True),
    "retries": Range(low=0),
    "ratio": Range(low=0, high=1),
    "share": Range(low=0, high=1, low_open=True),
    "cap": Range(high=10),
    "file.speakers": Range(low=1, high=4),
    "files.size": Range(low=1),
}


@pytest.mark.parametrize("params, expected", [
    ({"timeout": 0}, ["timeout must be greater than 0, got 0"]),
    ({"timeout": 0.5}, []),
    ({"retries": -1}, ["retries must be at least 0, got -1"]),
    ({"ratio": 1.5}, ["ratio must be between 0 and 1, got 1.5"]),
    ({"ratio": 1}, []),
    ({"share": 0}, ["share must be greater than 0 and at most 1, got 0"]),
    ({"cap": 11}, ["cap must be at most 10, got 11"]),
    ({"file": {"speakers": 0}}, ["file.speakers must be between 1 and 4, got 0"]),
    ({"files": [{"size": 2}, {"size": 0}, "bare"]}, ["files[1].size must be at least 1, got 0"]),
    ({"timeout": None, "retries": True, "file": None}, []),  # unset, or not a number: the type check's job
])
def test_problems(params, expected):
    assert problems(params, TABLE) == expected
