"""The constraint set: the image's file plus exact pins of the installed torch family."""
from __future__ import annotations

from ansible_collections.spark_control.audio.plugins.module_utils._pip.constraints import build

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import NGC_CONSTRAINT, NGC_INSTALLED

FAMILY = ["torch", "torchvision", "torchaudio", "triton"]


def test_pins_installed_family_and_image_pins_at_installed_versions():
    cset = build(NGC_CONSTRAINT, "/etc/pip/constraint.txt", NGC_INSTALLED, FAMILY)
    assert cset.pins == {
        "torch": "2.9.0a0+145a3a7bda.nv25.10", "torchvision": "0.24.0a0+094e7af5",
        "triton": "3.5.0+gitbfa6c8b4", "numpy": "2.4.6",
    }
    lines = cset.render().splitlines()
    assert "torch==2.9.0a0+145a3a7bda.nv25.10" in lines
    assert "numpy==2.4.6" in lines
    # torchaudio is in the family but not installed: nothing to pin, and no line invented for it.
    assert not any(line.startswith("torchaudio") for line in lines)
    # fastapi is installed but neither family nor image-pinned: left free.
    assert "fastapi" not in cset.pins and not cset.warnings


def test_family_is_pinned_without_any_constraint_file():
    cset = build(None, None, NGC_INSTALLED, FAMILY)
    assert set(cset.pins) == {"torch", "torchvision", "triton"}
    assert cset.image_lines == []


def test_installed_version_wins_over_a_disagreeing_image_pin():
    text = "torch==2.8.0a0+old.nv25.06\n"
    cset = build(text, "/etc/pip/constraint.txt", NGC_INSTALLED, FAMILY)
    assert cset.pins["torch"] == "2.9.0a0+145a3a7bda.nv25.10"
    assert "torch==2.8.0a0+old.nv25.06" not in cset.render()
    assert len(cset.warnings) == 1 and "2.8.0a0+old.nv25.06" in cset.warnings[0]


def test_lines_for_absent_packages_options_and_includes_are_kept():
    text = (
        "# a comment\n"
        "apex==0.1  # not installed here\n"
        "--only-binary=:all:\n"
        "-c more/pins.txt\n"
        "--constraint /abs/other.txt\n"
        "nvidia-dali-cuda120>=1.40\n"
    )
    cset = build(text, "/etc/pip/constraint.txt", NGC_INSTALLED, FAMILY)
    assert cset.image_lines == ["apex==0.1", "--only-binary=:all:", "-c /etc/pip/more/pins.txt",
                                "--constraint /abs/other.txt", "nvidia-dali-cuda120>=1.40"]
    assert "# a comment" not in cset.render()


def test_names_are_matched_normalised_and_written_as_installed():
    installed = {"pytorch-triton": ("pytorch_triton", "3.0.0+abc")}
    cset = build("PyTorch.Triton==3.0.0+abc\n", "/c.txt", installed, FAMILY)
    assert cset.pins == {"pytorch-triton": "3.0.0+abc"}
    assert "pytorch_triton==3.0.0+abc" in cset.render().splitlines()


def test_recorded_dependency_versions_join_as_extra_constraints_but_never_override_pins():
    cset = build(NGC_CONSTRAINT, "/c.txt", NGC_INSTALLED, FAMILY,
                 extra={"bench-helper-lib": "2.0.0", "torch": "2.10.0"})
    assert cset.extra == {"bench-helper-lib": "2.0.0"}
    lines = cset.render().splitlines()
    assert "bench-helper-lib==2.0.0" in lines and "torch==2.10.0" not in lines
