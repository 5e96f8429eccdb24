"""The host-side package manifest of a container."""
from __future__ import annotations

import json
import os

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip import manifest as m


def test_path_is_one_file_per_container_with_a_safe_name(tmp_path):
    assert m.path_for(str(tmp_path), "parakeet-asr") == str(tmp_path / "parakeet-asr.json")
    assert m.path_for(str(tmp_path), "../evil/x") == str(tmp_path / ".._evil_x.json")


def test_record_merge_and_reinstall_plan(tmp_path):
    path = m.path_for(str(tmp_path / "manifests"), "parakeet-asr")
    assert m.load(path) is None
    first = m.merged(None, "parakeet-asr", {"loose-torch-user": ("loose-torch-user>=1", "1.0.0")},
                     {"loose-torch-user": "1.0.0", "bench-helper-lib": "2.0.0"}, {"torch": "2.9.0a0+x.nv25.10"})
    saved, written = m.update(path, lambda current: first)
    assert written
    assert m.load(path) == saved and saved["updated_at"]
    # The manifest names packages and index hosts: for the host's administrators only.
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "manifests").st_mode & 0o777) == "0o700"
    second = m.merged(saved, "parakeet-asr", {"sdist-only-lib": ("sdist-only-lib", "1.0.0")},
                      {"sdist-only-lib": "1.0.0"}, {"torch": "2.9.0a0+x.nv25.10"})
    assert set(second["packages"]) == {"loose-torch-user", "sdist-only-lib"}
    assert not m.same_record(saved, second)
    assert m.same_record(second, m.merged(second, "parakeet-asr", {}, {}, {"torch": "2.9.0a0+x.nv25.10"}))
    requirements, deps = m.reinstall_plan(second)
    assert requirements == ["loose-torch-user==1.0.0", "sdist-only-lib==1.0.0"]
    assert deps == {"bench-helper-lib": "2.0.0"}
    assert not [p for p in os.listdir(tmp_path / "manifests") if p.startswith(".manifest-")]


@pytest.mark.parametrize("content,needle", [
    ("{broken", "cannot read"), ('{"x": 1}', "not a container_pip"),
    # Hand edits: a clear "damaged" error naming the entry, never a traceback later in the run.
    ('{"packages": {"foo": "1.0"}}', "damaged: packages.foo has no 'version'"),
    ('{"packages": {"foo": {}}}', "damaged: packages.foo has no 'version'"),
    ('{"packages": {"foo": {"version": "1.0", "requirement": "foo @ https://x/foo.whl"}}}',
     "damaged: packages.foo.requirement"),
    ('{"packages": {}, "resolved": ["x"]}', "damaged: 'resolved' is not a mapping"),
    ('{"packages": {}, "sources": "pypi"}', "damaged: 'sources' is not a mapping"),
    ('{"packages": {}, "resolved": {"x": 1}}', "damaged: resolved.x is not a version string"),
])
def test_bad_manifest_is_a_clear_error(tmp_path, content, needle):
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(m.ManifestError, match=needle):
        m.load(str(path))


def test_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(m.ManifestError, match="cannot write"):
        m.update(str(blocker / "c.json"), lambda current: {"packages": {}})


def test_saved_file_is_plain_json(tmp_path):
    path = str(tmp_path / "c.json")
    m.update(path, lambda current: m.merged(None, "c", {}, {}, {}))
    assert json.loads(open(path).read())["tool"] == "spark_control.audio.container_pip"


def test_credentials_are_never_recorded(tmp_path):
    sources = {"index_url": "https://ci:s3cr%40t@pypi.example.internal/simple/",
               "extra_index_urls": ["https://extra.example.internal/simple/"]}
    record = m.merged(None, "c", {"x": ("x", "1.0")}, {"x": "1.0"}, {}, sources)
    assert record["sources"] == {"index_url": "https://pypi.example.internal/simple/",
                                 "extra_index_urls": ["https://extra.example.internal/simple/"],
                                 "credentials_not_recorded": ["index_url"]}
    # A manifest written by an earlier release, with the password inside, loses it on the next write.
    legacy = dict(record, sources={"index_url": "https://ci:s3cr%40t@pypi.example.internal/simple/"})
    again = m.merged(legacy, "c", {}, {}, {})
    path = m.path_for(str(tmp_path), "c")
    m.update(path, lambda current: again)
    assert "s3cr" not in open(path).read()


def test_a_recorded_package_moved_as_a_dependency_is_reinstalled_at_its_new_version():
    first = m.merged(None, "c", {"sentencepiece": ("sentencepiece", "0.1.99")}, {"sentencepiece": "0.1.99"}, {})
    # A later run installs asr-tokenizers, which needs sentencepiece>=0.2: pip upgrades it as a dependency.
    second = m.merged(first, "c", {"asr-tokenizers": ("asr-tokenizers", "2.0")},
                      {"asr-tokenizers": "2.0", "sentencepiece": "0.2.0"}, {})
    assert second["packages"]["sentencepiece"] == {"requirement": "sentencepiece", "version": "0.2.0"}
    assert m.reinstall_plan(second)[0] == ["asr-tokenizers==2.0", "sentencepiece==0.2.0"]


def test_the_reinstall_keeps_the_extras_of_the_recorded_requirement():
    record = m.merged(None, "c", {"nemo-extras-user": ("nemo-extras-user[tts,asr]>=1", "1.0.0")},
                      {"nemo-extras-user": "1.0.0", "speechy": "3.1.0"}, {})
    assert m.reinstall_plan(record) == (["nemo-extras-user[asr,tts]==1.0.0"], {"speechy": "3.1.0"})


def test_an_update_keeps_what_another_run_recorded_meanwhile(tmp_path):
    path = m.path_for(str(tmp_path), "c")
    start = None  # what both runs read at their start: no manifest yet
    m.update(path, lambda current: m.merged(current, "c", {"a": ("a", "1.0")}, {"a": "1.0"}, {}))
    saved, written = m.update(path, lambda current: m.merged(current, "c", {"b": ("b", "2.0")}, {"b": "2.0"}, {}))
    assert written and set(saved["packages"]) == {"a", "b"} and set(m.load(path)["packages"]) == {"a", "b"}
    assert start is None
    again, written = m.update(path, lambda current: m.merged(current, "c", {"b": ("b", "2.0")}, {"b": "2.0"}, {}))
    assert not written and again == m.load(path)
