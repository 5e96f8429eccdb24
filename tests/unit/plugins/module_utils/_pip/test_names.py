"""Requirement parsing and version wording of container_pip."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import (
    RequirementError, canonical, change_word, leading_name, parse_requirement, requirement_name,
)


@pytest.mark.parametrize("raw,expected", [
    ("Cuda_Python", "cuda-python"), ("cuda.bindings", "cuda-bindings"), ("torch", "torch"),
    ("Foo__Bar--baz", "foo-bar-baz"),
])
def test_canonical(raw, expected):
    assert canonical(raw) == expected


@pytest.mark.parametrize("text,name,spec", [
    ("torch", "torch", ""),
    ("loose-torch-user>=1.0", "loose-torch-user", ">=1.0"),
    ("pkg[extra, other] >= 1, < 2", "pkg", "<2,>=1"),
    ("sentencepiece==0.2.0; python_version >= '3.8'", "sentencepiece", "==0.2.0"),
    ("Torch_Audio~=2.9.0", "Torch_Audio", "~=2.9.0"),
])
def test_accepted_requirements(text, name, spec):
    req = parse_requirement(text)
    assert (req.name, req.specifier, req.text) == (name, spec, text)


@pytest.mark.parametrize("text,needle", [
    ("", "empty requirement"),
    ("-r requirements.txt", "pip option"),
    ("--index-url=http://x", "pip option"),
    ("pkg @ https://example.invalid/pkg.whl", "direct reference"),
    ("./local/pkg", "direct reference"),
    ("/srv/wheels/pkg.whl", "direct reference"),
    ("pkg>>1", "not a valid requirement"),
    ("pkg==", "not a valid requirement"),
    ("pkg name", "not a valid requirement"),
    ("[extra]>=1", "not a valid requirement"),
    # A marker is parsed, never passed through as text (it used to reach pip's traceback).
    ("x; touch pwned", "not a valid requirement"),
    # pip installs a bare archive name from the current folder: a path in disguise.
    ("pkg-1.0-py3-none-any.whl", "direct reference"),
    ("pkg-1.0.tar.gz; python_version > '3'", "direct reference"),
    ("pkg @ file:///srv/pkg", "direct reference"),
])
def test_refused_requirements(text, needle):
    with pytest.raises(RequirementError, match=needle):
        parse_requirement(text)


def test_leading_name():
    assert leading_name("needs-new-torch 1.0.0 depends on torch>=2.10") == "needs-new-torch"
    assert leading_name("   ") is None


@pytest.mark.parametrize("old,new,word", [
    (None, "1.0", "install"),
    ("2.9.0a0+145a3a7bda.nv25.10", "2.10.0", "upgrade"),
    ("2.10.0", "2.9.0a0+145a3a7bda.nv25.10", "downgrade"),
    # 2.9.0 is a release after the 2.9.0a0 pre-release NGC built on: an upgrade, not a "replace".
    ("2.9.0a0+145a3a7bda.nv25.10", "2.9.0", "upgrade"),
    ("2.9.0a0+145a3a7bda.nv25.10", "2.9.0a0", "replace"),
    ("1.0.0", "1.0.0", "reinstall"),
    ("1.0", "1.0.0", "reinstall"),
])
def test_change_word(old, new, word):
    assert change_word(old, new) == word


def test_requirement_name_of_constraint_and_metadata_lines():
    assert requirement_name("Torch_Audio==2.9.0a0+x.nv25.10") == "torch-audio"
    assert requirement_name("foo (>=1.0) ; extra == 'test'") == "foo"
    assert requirement_name("weird line that is no requirement") == "weird"
