"""Reading pip's --dry-run --report JSON (recorded from pip 23.0.1 in the bench image)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip.report import ReportError, parse

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import FIXTURES


def recorded(name: str) -> str:
    return (FIXTURES / "pip_report" / f"{name}.json").read_text()


def test_wheels_with_their_dependencies():
    plan = parse(recorded("loose_torch_user"))
    assert [(p.name, p.version, p.requested, p.source_build) for p in plan] == [
        ("loose-torch-user", "1.0.0", True, False), ("bench-helper-lib", "2.0.0", False, False)]
    assert plan[0].requires == ("torch", "bench-helper-lib")


def test_transitive_chain_is_visible():
    plan = {p.canonical: p for p in parse(recorded("asr_extras"))}
    assert set(plan) == {"asr-extras", "cuda-python", "cuda-bindings"}
    assert plan["asr-extras"].requires == ("cuda-python",)
    assert plan["cuda-python"].requires == ("cuda-bindings",) and not plan["cuda-python"].requested


def test_sdists_are_source_builds():
    (item,) = parse(recorded("sdist_only_lib"))
    assert item.source_build and item.url.endswith(".tar.gz")
    (audio,) = parse(recorded("torchaudio_no_isolation"))
    # Built against the container's torch: the metadata pins exactly that torch.
    assert audio.source_build and audio.requires == ("torch",)


def test_optional_extras_are_not_counted_as_requirements():
    text = ('{"install": [{"download_info": {"url": "x.whl"}, "requested": true, "metadata": {"name": "a", '
            '"version": "1", "requires_dist": ["b", "c ; extra == \\"gpu\\"", "d; python_version>\'3\'"]}}]}')
    (item,) = parse(text)
    assert item.requires == ("b", "d")


def test_markers_are_evaluated_in_the_containers_environment_with_the_extras_asked_for():
    requires = ["b ; python_version >= '3.8' or extra == 'test'", "c ; extra == 'gpu'", "d ; extra == 'cli'",
                "e ; python_version < '3.0'", "f ; sys_platform == 'linux' and platform_machine == 'aarch64'"]
    text = json.dumps({"environment": {"python_version": "3.12", "sys_platform": "linux",
                                       "platform_machine": "aarch64"},
                       "install": [{"download_info": {"url": "a.whl"}, "requested": True, "requested_extras": ["gpu"],
                                    "metadata": {"name": "a", "version": "1", "requires_dist": requires}}]})
    (item,) = parse(text)
    # An "or" with an extra is still required; an extra asked for counts; the Spark is aarch64.
    assert item.requires == ("b", "c", "f")


def test_local_directories_and_vcs_count_as_source_builds():
    text = ('{"install": [{"download_info": {"url": "file:///src/x", "dir_info": {}}, "metadata": '
            '{"name": "x", "version": "1"}}]}')
    assert parse(text)[0].source_build


@pytest.mark.parametrize("text,needle", [
    (None, "no installation report"), ("", "no installation report"), ("{not json", "not JSON"),
    ('{"version": "1"}', "no 'install' list"), ('{"install": [{"metadata": {}}]}', "lacks name/version"),
])
def test_bad_reports(text, needle):
    with pytest.raises(ReportError, match=needle):
        parse(text)
