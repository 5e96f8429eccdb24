"""Classifying pip failures, on output recorded from real pip runs (23.0.1 in the bench
image, 26.3 on the host) against the local test index (tests/bench/pypi)."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip.failures import classify, index_urls, unreachable

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import pip_output

PINS = {"torch": "2.9.0a0+145a3a7bda.nv25.10", "numpy": "2.4.6"}
VERSIONS = ["23.0.1", "26.3"]


def run(version, case, allow=("torchaudio",), no_iso=("torchaudio",)):
    return classify(pip_output(version, case), "parakeet-asr", PINS, set(allow), set(no_iso))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", ["pinned_dependency", "pinned_direct"])
def test_conflicts_with_torch_are_pinned_refusals(version, case):
    failure = run(version, case)
    assert failure.kind == "pinned" and failure.package == "torch"
    assert "torch==2.9.0a0+145a3a7bda.nv25.10" in failure.message
    # pip's own "caused by" lines are quoted.
    assert "The user requested (constraint) torch==2.9.0a0+145a3a7bda.nv25.10" in failure.message
    if case == "pinned_dependency":
        assert "needs-new-torch 1.0.0 depends on torch>=2.10" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_other_conflicts_show_the_conflicting_requirement(version):
    failure = run(version, "conflict")
    assert failure.kind == "conflict"
    assert "needs-newer-helper 1.0.0 depends on bench-helper-lib>=2.0" in failure.message
    assert "The user requested bench-helper-lib==1.0.0" in failure.message
    assert "Cannot install bench-helper-lib==1.0.0 and needs-newer-helper==1.0.0" in failure.pip_lines[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_package(version):
    failure = run(version, "unknown_package")
    assert failure.kind == "unknown_package" and failure.package == "no-such-package-here"
    assert "http://127.0.0.1:8570/simple/" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_no_matching_version_lists_what_the_index_has(version):
    failure = run(version, "no_matching_version")
    assert failure.kind == "no_matching_version" and "1.0.0, 2.0.0" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_offline_index(version):
    failure = run(version, "offline")
    assert failure.kind == "index_unreachable"
    assert "Connection refused" in failure.message and "http://127.0.0.1:8571/simple/" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_isolated_build_that_needs_torch_gets_the_no_build_isolation_hint(version):
    failure = run(version, "isolated_build_needs_torch", allow=("torchaudio",), no_iso=())
    assert failure.kind == "build_failed" and failure.package == "torchaudio"
    assert "No module named 'torch'" in failure.message and "no_build_isolation" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_failed_source_build_of_a_package_not_allowed_to_build(version):
    failure = run(version, "isolated_build_needs_torch", allow=())
    assert failure.kind == "source_build" and failure.package == "torchaudio"
    assert "allow_source_build" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_index_urls_read_from_pip_output(version):
    assert index_urls(pip_output(version, "unknown_package")) == ["http://127.0.0.1:8570/simple/"]


def test_unreachable_message_names_each_location():
    failure = unreachable("", "spark_embed", {"http://10.0.0.9/simple/": "URLError: timed out"})
    assert failure.kind == "index_unreachable"
    assert "http://10.0.0.9/simple/: URLError: timed out" in failure.message and "'spark_embed'" in failure.message


def test_anything_else_keeps_the_tail_of_pips_output():
    failure = classify("Looking in indexes: x\nERROR: THESE PACKAGES DO NOT MATCH THE HASHES\n    pkg: sha256",
                       "c", PINS, set(), set())
    assert failure.kind == "other" and "DO NOT MATCH THE HASHES" in failure.message
