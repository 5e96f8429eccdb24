"""What a wheel makes importable, from its file list."""
from __future__ import annotations

from ansible_collections.spark_control.audio.plugins.module_utils._pip.wheel_modules import (
    denied, provided, site_paths, start_up_hooks,
)

ACCEL = [
    "accel_kernels/__init__.py",
    "cuda/__init__.py",
    "accel_kernels-1.0.0.dist-info/METADATA",
    "accel_kernels-1.0.0.dist-info/RECORD",
]


def test_folders_and_module_files_are_importable_dist_info_is_not():
    assert provided(ACCEL) == {"accel_kernels": "accel_kernels/__init__.py", "cuda": "cuda/__init__.py"}


def test_data_purelib_and_platlib_land_in_site_packages_other_data_does_not():
    entries = ["x-1.0.data/purelib/cuda/bindings/__init__.py", "x-1.0.data/platlib/fast.cpython-311-aarch64-linux-gnu.so",
               "x-1.0.data/scripts/cuda", "x-1.0.data/data/share/cuda/x.txt"]
    assert site_paths(entries) == ["cuda/bindings/__init__.py", "fast.cpython-311-aarch64-linux-gnu.so"]
    assert set(provided(entries)) == {"cuda", "cuda.bindings", "fast"}


def test_namespace_packages_and_dotted_denies():
    entries = ["cuda/pathfinder/__init__.py", "cuda/cudart.py", "my-data/readme.txt", "top.py", "__init__.py"]
    assert set(provided(entries)) == {"cuda", "cuda.pathfinder", "cuda.cudart", "top"}
    assert denied(entries, ["cuda"]) == [("cuda", "cuda/pathfinder/__init__.py")]
    assert denied(entries, ["cuda.bindings", "cuda.cudart"]) == [("cuda.cudart", "cuda/cudart.py")]
    assert denied(ACCEL, ["torch"]) == []


def test_start_up_hooks_are_the_top_level_pth_files():
    assert start_up_hooks(["hook.pth", "pkg/not_a_hook.pth", "x-1.data/purelib/other.pth"]) == ["hook.pth", "other.pth"]
