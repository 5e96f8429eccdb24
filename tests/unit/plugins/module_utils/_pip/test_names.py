"""Requirement parsing and version wording of container_pip."""
from __future__ import annotations

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import (
    RequirementError, canonical, change_word, leading_name, parse_requirement, release,
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
    ("pkg[extra, other] >= 1, < 2", "pkg", ">= 1, < 2"),
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
    ("pkg>>1", "not valid"),
    ("pkg==", "not valid"),
    ("pkg name", "not valid"),
    ("[extra]>=1", "not a requirement"),
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
    ("2.9.0a0+145a3a7bda.nv25.10", "2.9.0", "replace"),
    ("1.0.0", "1.0.0", "reinstall"),
    ("1.0", "1.0.0", "replace"),
])
def test_change_word(old, new, word):
    assert change_word(old, new) == word


def test_release_ignores_pre_and_local_parts():
    assert release("2.9.0a0+145a3a7bda.nv25.10") == (2, 9)
    assert release("0.24.0a0+094e7af5") == (0, 24)
    assert release("not a version") == ()
