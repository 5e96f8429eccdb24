"""The refusal rules, decided from the dry run's plan."""
from __future__ import annotations

from ansible_collections.spark_control.audio.plugins.module_utils._pip.policy import (
    DEFAULT_DENY, check, denied_installed, deny_map, describe, pulled_in_by,
)
from ansible_collections.spark_control.audio.plugins.module_utils._pip.report import Planned

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import NGC_INSTALLED

PINS = {"torch": "2.9.0a0+145a3a7bda.nv25.10", "numpy": "2.4.6"}
DENY = deny_map(DEFAULT_DENY)


def wheel(name, version, requested=False, requires=()):
    return Planned(name, version, requested, False, f"http://i/{name}-{version}-py3-none-any.whl", tuple(requires))


def test_a_clean_plan_passes():
    plan = [wheel("loose-torch-user", "1.0.0", True, ["torch", "bench-helper-lib"]), wheel("bench-helper-lib", "2.0.0")]
    assert check(plan, PINS, NGC_INSTALLED, DENY, {"torchaudio"}) == []


def test_pinned_package_in_the_plan_is_refused_with_the_direction():
    plan = [wheel("needs-new-torch", "1.0.0", True, ["torch"]), wheel("torch", "2.10.0")]
    (refusal,) = check(plan, PINS, NGC_INSTALLED, DENY, set())
    assert refusal.rule == "pinned" and refusal.package == "torch"
    assert "upgrade it to 2.10.0" in refusal.detail and "2.9.0a0+145a3a7bda.nv25.10" in refusal.detail


def test_reinstalling_a_pinned_package_at_the_same_version_is_refused_too():
    (refusal,) = check([wheel("numpy", "2.4.6", True)], PINS, NGC_INSTALLED, DENY, set())
    assert "reinstall it" in refusal.detail


def test_denied_transitive_dependency_names_the_chain():
    plan = [wheel("asr-extras", "1.0.0", True, ["cuda-python"]), wheel("cuda-python", "12.9.0", False, ["cuda-bindings"]),
            wheel("cuda-bindings", "12.9.0")]
    refusals = check(plan, PINS, NGC_INSTALLED, DENY, set())
    assert [(r.rule, r.package) for r in refusals] == [("denied", "cuda-python"), ("denied", "cuda-bindings")]
    assert refusals[1].via == "cuda-bindings 12.9.0 (pulled in by asr-extras -> cuda-python -> cuda-bindings)"
    assert "GB10" in refusals[0].reason and "illegal memory access" in refusals[0].reason
    message = describe(refusals)
    # Both named in one sentence with the reason given once.
    assert message.count("GB10") == 1 and message.startswith("(1) cuda-python 12.9.0 (pulled in by")


def test_denied_package_requested_directly():
    (refusal,) = check([wheel("Cuda_Python", "12.9.0", True)], PINS, NGC_INSTALLED, DENY, set())
    assert "requested directly" in refusal.detail


def test_deny_list_is_per_container():
    plan = [wheel("cuda-python", "12.9.0", True)]
    assert check(plan, PINS, NGC_INSTALLED, deny_map([]), set()) == []


def test_source_build_refused_unless_allowed():
    sdist = Planned("sdist-only-lib", "1.0.0", True, True, "http://i/sdist_only_lib-1.0.0.tar.gz")
    (refusal,) = check([sdist], PINS, NGC_INSTALLED, DENY, {"torchaudio"})
    assert refusal.rule == "source_build" and "allow_source_build" in refusal.detail and ".tar.gz" in refusal.detail
    assert check([sdist], PINS, NGC_INSTALLED, DENY, {"SDIST_only.lib"}) == []


def test_one_package_can_break_several_rules():
    item = Planned("cuda-python", "12.9.0", True, True, "http://i/cuda-python-12.9.0.tar.gz")
    rules = {r.rule for r in check([item], PINS, NGC_INSTALLED, DENY, set())}
    assert rules == {"denied", "source_build"}


def test_pulled_in_by_unknown_target():
    assert pulled_in_by([wheel("a", "1", True)], "zzz") == []


def test_denied_installed_lists_present_ones():
    installed = dict(NGC_INSTALLED, **{"cuda-bindings": ("cuda_bindings", "12.9.0")})
    assert [(n, v) for n, v, _unused in denied_installed(installed, DENY)] == [("cuda_bindings", "12.9.0")]
    assert denied_installed(NGC_INSTALLED, DENY) == []
