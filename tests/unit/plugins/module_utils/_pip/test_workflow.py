"""container_pip's run, against a scripted container (pip_fakes.FakePython)."""
from __future__ import annotations

import json

import pytest

from ansible_collections.spark_control.audio.plugins.module_utils._pip.manifest import load, path_for
from ansible_collections.spark_control.audio.plugins.module_utils._pip.names import parse_requirement
from ansible_collections.spark_control.audio.plugins.module_utils._pip.policy import DEFAULT_DENY, deny_kept_for, deny_map, deny_modules
from ansible_collections.spark_control.audio.plugins.module_utils._pip.sources import index_args, sources_from
from ansible_collections.spark_control.audio.plugins.module_utils._pip.workflow import (
    ContainerPipError, Run, Settings,
)
from ansible_collections.spark_control.audio.plugins.modules import container_pip

from ansible_collections.spark_control.audio.tests.unit.plugins.module_utils._pip.fakes import FakePython, pip_output, report

SDIST = "http://127.0.0.1:8570/files/torchaudio-2.9.0.tar.gz"


SPEC = container_pip.ARGUMENT_SPEC


def settings(tmp_path, *reqs, **overrides) -> Settings:
    base = dict(
        container="parakeet-asr", requirements=[parse_requirement(r) for r in reqs],
        deny=deny_map(DEFAULT_DENY), deny_modules=deny_modules(DEFAULT_DENY), deny_kept_for=deny_kept_for(DEFAULT_DENY),
        allow_source_build={"torchaudio"}, no_build_isolation={"torchaudio"},
        import_checks=["torch"], sources={"index_url": "http://127.0.0.1:8570/simple/"},
        manifest_path=path_for(str(tmp_path), "parakeet-asr"),
        # The rest as the module passes them: its argument spec's defaults.
        reinstall=False, family=SPEC["pinned_packages"]["default"], constraint_file=None, remove_denied=False,
        prefer_binary=SPEC["prefer_binary"]["default"], retries=SPEC["retries"]["default"],
        network_timeout=SPEC["network_timeout"]["default"], check_mode=False, diff=False,
    )
    return Settings(**(base | overrides))


def loose(fake):
    fake.dry_runs.append(("ok", report(("loose-torch-user", "1.0.0", True, ["torch>=2.1", "bench-helper-lib"]),
                                       ("bench-helper-lib", "2.0.0", False))))
    fake.install_adds = {"loose-torch-user": ("loose-torch-user", "1.0.0"),
                         "bench-helper-lib": ("bench-helper-lib", "2.0.0")}


def test_install_records_and_runs_with_the_constraint_set(tmp_path):
    fake = FakePython()
    loose(fake)
    result = Run(fake, settings(tmp_path, "loose-torch-user")).execute()
    assert result["changed"] and result["installed"] == ["loose-torch-user==1.0.0", "bench-helper-lib==2.0.0"]
    (install,) = fake.installs()
    assert install[-1] == "loose-torch-user" and "--no-build-isolation" not in install
    dry_env = fake.calls[0][1]
    # Dry run and install run with the same constraint file, which holds the exact NGC pins.
    install_env = next(env for args, env in fake.calls if args[0] == "install" and "--dry-run" not in args)
    assert install_env == dry_env and dry_env["PIP_CONSTRAINT"].startswith("/tmp/spark-container-pip-test/")
    # Between them the planned wheels were fetched (exact files, no constraints) to read what they make importable.
    download, download_env = fake.calls[1]
    assert download[:2] == ["download", "--no-deps"] and download_env["PIP_CONSTRAINT"] == ""
    assert result["wheels_checked"] == ["bench-helper-lib-2.0.0-py3-none-any.whl",
                                        "loose-torch-user-1.0.0-py3-none-any.whl"]
    assert "torch==2.9.0a0+145a3a7bda.nv25.10" in result["constraints"]
    assert fake.scratch_removed == ["/tmp/spark-container-pip-test"]
    manifest = load(result["manifest_path"])
    assert manifest["packages"] == {"loose-torch-user": {"requirement": "loose-torch-user", "version": "1.0.0"}}
    assert manifest["resolved"]["bench-helper-lib"] == "2.0.0"
    assert manifest["pins"]["torch"] == "2.9.0a0+145a3a7bda.nv25.10"
    assert result["import_checks"] == {"torch": "ok"}


def test_second_run_is_no_change(tmp_path):
    fake = FakePython()
    loose(fake)
    Run(fake, settings(tmp_path, "loose-torch-user")).execute()
    fake.dry_runs.append(("ok", report()))
    again = Run(fake, settings(tmp_path, "loose-torch-user")).execute()
    assert not again["changed"] and again["plan"] == [] and len(fake.installs()) == 1


def test_a_family_package_installed_here_keeps_the_second_run_unchanged(tmp_path):
    """torchaudio is torch family: once installed it is pinned, yet the manifest must not churn."""
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("torchaudio", "2.9.0", True, ["torch==2.9.0a0+145a3a7bda.nv25.10"], SDIST))))
    fake.install_adds = {"torchaudio": ("torchaudio", "2.9.0")}
    first = Run(fake, settings(tmp_path, "torchaudio")).execute()
    assert first["changed"] and "torchaudio" not in first["manifest"]["pins"]
    fake.dry_runs.append(("ok", report()))
    second = Run(fake, settings(tmp_path, "torchaudio")).execute()
    assert second["pinned"]["torchaudio"] == "2.9.0"
    assert not second["changed"] and second["manifest"]["packages"]["torchaudio"]["version"] == "2.9.0"


def test_requesting_an_image_package_records_nothing(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("ok", report()))
    result = Run(fake, settings(tmp_path, "torch")).execute()
    assert not result["changed"] and load(result["manifest_path"]) is None


def test_requesting_a_package_the_image_already_has_records_nothing_in_check_mode_or_for_real(tmp_path):
    # fastapi ships with the image (unpinned): recording it would downgrade it after an image upgrade.
    fake = FakePython()
    fake.dry_runs += [("ok", report()), ("ok", report())]
    preview = Run(fake, settings(tmp_path, "fastapi", check_mode=True)).execute()
    done = Run(fake, settings(tmp_path, "fastapi")).execute()
    assert not preview["changed"] and not done["changed"] and "manifest_changed" not in done
    assert load(done["manifest_path"]) is None


def test_a_package_this_collection_installed_is_recorded_when_requested_again(tmp_path):
    fake = FakePython()
    loose(fake)
    Run(fake, settings(tmp_path, "loose-torch-user")).execute()  # bench-helper-lib came as a dependency
    fake.dry_runs.append(("ok", report()))
    again = Run(fake, settings(tmp_path, "bench-helper-lib")).execute()
    assert again["changed"] and again["manifest"]["packages"]["bench-helper-lib"]["version"] == "2.0.0"


def test_new_index_options_warn_that_the_earlier_packages_reinstall_from_them(tmp_path):
    fake = FakePython()
    loose(fake)
    Run(fake, settings(tmp_path, "loose-torch-user",
                       sources={"index_url": "https://ci:s3cret@private.example.internal/simple/"})).execute()
    fake.dry_runs.append(("ok", report(("sentencepiece", "0.2.0", True))))
    fake.install_adds = {"sentencepiece": ("sentencepiece", "0.2.0")}
    result = Run(fake, settings(tmp_path, "sentencepiece", sources={"index_url": "https://pypi.org/simple/"})).execute()
    (note,) = [n for n in result["notes"] if "one set of index options" in n]
    assert "loose-torch-user were recorded from index_url https://private.example.internal/simple/" in note
    assert "index_url https://pypi.org/simple/" in note and "s3cret" not in note
    # Same options again: nothing to warn about.
    fake.dry_runs.append(("ok", report()))
    quiet = Run(fake, settings(tmp_path, "sentencepiece", sources={"index_url": "https://pypi.org/simple/"})).execute()
    assert not [n for n in quiet["notes"] if "one set of index options" in n]


def test_check_mode_resolves_but_installs_and_records_nothing(tmp_path):
    fake = FakePython()
    loose(fake)
    result = Run(fake, settings(tmp_path, "loose-torch-user", check_mode=True, diff=True)).execute()
    assert result["changed"] and fake.installs() == [] and "loose-torch-user" not in fake.table
    assert [r["action"] for r in result["plan"]] == ["install", "install"]
    assert result["diff"]["after"] == "bench-helper-lib==2.0.0\nloose-torch-user==1.0.0\n"
    assert load(result["manifest_path"]) is None and result["manifest_changed"]


def test_denied_dependency_is_refused_before_installing(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("asr-extras", "1.0.0", True, ["cuda-python>=12"]),
                                       ("cuda-python", "12.9.0", False, ["cuda-bindings"]),
                                       ("cuda-bindings", "12.9.0", False))))
    before = dict(fake.table)
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "asr-extras")).execute()
    assert "asr-extras -> cuda-python" in str(err.value) and "GB10" in str(err.value)
    assert {r["package"] for r in err.value.result["refusals"]} == {"cuda-python", "cuda-bindings"}
    assert fake.installs() == [] and fake.table == before and load(path_for(str(tmp_path), "parakeet-asr")) is None
    assert fake.scratch_removed  # scratch folder cleaned up on refusal too


def test_pip_conflict_with_torch_is_a_pinned_refusal(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("fail", pip_output("23.0.1", "pinned_dependency")))
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "needs-new-torch")).execute()
    assert err.value.result["failure_kind"] == "pinned"
    assert "Nothing was changed in the container" in str(err.value) and fake.installs() == []


def test_offline_index_detected_by_probing_when_pip_says_only_not_found(tmp_path):
    fake = FakePython()
    output = ("Looking in indexes: http://127.0.0.1:8571/simple/\nERROR: Could not find a version that satisfies "
              "the requirement x (from versions: none)\nERROR: No matching distribution found for x\n")
    fake.dry_runs.append(("fail", output))
    fake.dead_urls = {"http://127.0.0.1:8571/simple/": "URLError: [Errno 111] Connection refused"}
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "x")).execute()
    assert err.value.result["failure_kind"] == "index_unreachable" and "Connection refused" in str(err.value)


def test_dependency_needing_no_isolation_retries_the_dry_run_without_it(tmp_path):
    fake = FakePython()
    fake.dry_runs += [("fail", pip_output("26.3", "isolated_build_needs_torch")),
                      ("ok", report(("audio-tools", "1.0", True, ["torchaudio"]),
                                    ("torchaudio", "2.9.0", False, ["torch==2.9.0a0+145a3a7bda.nv25.10"], SDIST)))]
    fake.install_adds = {"audio-tools": ("audio-tools", "1.0"), "torchaudio": ("torchaudio", "2.9.0")}
    result = Run(fake, settings(tmp_path, "audio-tools")).execute()
    dry = [a for a, _unused in fake.calls if "--dry-run" in a]
    assert "--no-build-isolation" not in dry[0] and "--no-build-isolation" in dry[1]
    assert "--no-build-isolation" in fake.installs()[0] and result["build_isolation"] is False


def test_a_dependency_needing_no_isolation_that_resolves_in_isolation_still_installs_without_it(tmp_path):
    # Its metadata step worked in isolation, so the dry run passed; its build must still see the container's torch.
    fake = FakePython()
    planned = report(("speech-lib", "1.0", True, ["torchaudio"]), ("torchaudio", "2.9.0", False, [], SDIST))
    fake.dry_runs += [("ok", planned), ("ok", planned)]
    fake.install_adds = {"speech-lib": ("speech-lib", "1.0"), "torchaudio": ("torchaudio", "2.9.0")}
    result = Run(fake, settings(tmp_path, "speech-lib")).execute()
    dry = [a for a, _unused in fake.calls if "--dry-run" in a]
    assert "--no-build-isolation" not in dry[0] and "--no-build-isolation" in dry[1]
    assert "--no-build-isolation" in fake.installs()[0] and result["build_isolation"] is False


def test_requested_torchaudio_goes_without_isolation_from_the_start(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("torchaudio", "2.9.0", True, ["torch==2.9.0a0+145a3a7bda.nv25.10"], SDIST))))
    fake.install_adds = {"torchaudio": ("torchaudio", "2.9.0")}
    Run(fake, settings(tmp_path, "torchaudio")).execute()
    assert all("--no-build-isolation" in a for a, _unused in fake.calls if a[0] == "install")


def test_failed_import_check_rolls_back(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("torch-shadow", "1.0.0", True))))
    fake.install_adds = {"torch-shadow": ("torch-shadow", "1.0.0")}
    fake.broken_imports = {"torch-shadow": {"torch": "ImportError: torch is shadowed"}}
    before = dict(fake.table)
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "torch-shadow")).execute()
    assert "import torch fails: ImportError: torch is shadowed" in str(err.value)
    assert err.value.result["rollback"]["uninstalled"] == ["torch-shadow"]
    assert err.value.result["rollback"]["restored"] and not err.value.result["changed"]
    assert fake.table == before and load(path_for(str(tmp_path), "parakeet-asr")) is None


def test_moved_pin_after_install_rolls_back_and_restores_the_version(tmp_path):
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("sneaky", "1.0", True))))
    # pip planned one package but the install also replaced numpy (a pinned one).
    fake.install_adds = {"sneaky": ("sneaky", "1.0"), "numpy": ("numpy", "1.26.4")}
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "sneaky")).execute()
    assert "pinned numpy is now 1.26.4 (was 2.4.6)" in str(err.value)
    assert err.value.result["rollback"]["reinstalled"] == ["numpy==2.4.6"] and fake.table["numpy"][1] == "2.4.6"


def test_failed_install_reports_and_rolls_back(tmp_path):
    fake = FakePython()
    loose(fake)
    fake.install_fails = "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE."
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path, "loose-torch-user")).execute()
    assert "after a clean dry run" in str(err.value) and err.value.result["rollback"]["restored"]


def test_already_installed_denied_package_fails_or_is_removed(tmp_path):
    fake = FakePython(installed={**FakePython().table, "cuda-python": ("cuda-python", "12.9.0")})
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path)).execute()
    assert "pip uninstall -y cuda-python" in str(err.value) and err.value.result["denied_installed"] == ["cuda-python"]
    result = Run(fake, settings(tmp_path, remove_denied=True)).execute()
    assert result["changed"] and result["removed_denied"] == ["cuda-python==12.9.0"]
    assert "cuda-python" not in fake.table and ["uninstall", "-y", "cuda-python"] in [a for a, _unused in fake.calls]


def nemo3_image(**extra) -> FakePython:
    """An NGC image with NeMo 3: nemo_toolkit 3.0.0 requires cuda-bindings, so it is installed."""
    fake = FakePython(installed={**FakePython().table, "nemo-toolkit": ("nemo_toolkit", "3.0.0"),
                                 "cuda-bindings": ("cuda-bindings", "13.5.0"), **extra})
    fake.requirers = {"cuda-bindings": ["nemo_toolkit 3.0.0", "cuda-python 13.0.0"]}
    return fake


def test_a_denied_package_the_image_requires_is_kept_with_a_warning(tmp_path):
    fake = nemo3_image()
    loose(fake)
    result = Run(fake, settings(tmp_path, "loose-torch-user")).execute()
    assert result["changed"] and result["installed"] == ["loose-torch-user==1.0.0", "bench-helper-lib==2.0.0"]
    assert result["kept_denied"] == ["cuda-bindings==13.5.0"] and result["removed_denied"] == []
    (note,) = [n for n in result["notes"] if "cuda-bindings" in n]
    assert "required by nemo_toolkit 3.0.0" in note and "forces CUDA-graph decoding off" in note
    assert "GET /overlay" in note and "cuda-python 13.0.0" not in note     # not installed: not a reason
    assert fake.table["cuda-bindings"] == ("cuda-bindings", "13.5.0")
    assert not [a for a, _unused in fake.calls if a[0] == "uninstall"]      # the checks afterwards passed


def test_remove_denied_never_breaks_the_image_stack(tmp_path):
    fake = nemo3_image(**{"cuda-python": ("cuda-python", "13.0.0")})
    fake.requirers = {"cuda-bindings": ["nemo_toolkit 3.0.0", "cuda-python 13.0.0"]}
    result = Run(fake, settings(tmp_path, remove_denied=True)).execute()
    assert result["removed_denied"] == ["cuda-python==13.0.0"] and result["kept_denied"] == ["cuda-bindings==13.5.0"]
    assert "cuda-bindings" in fake.table and "cuda-python" not in fake.table


def test_a_kept_package_of_a_custom_deny_list_gets_no_cuda_story(tmp_path):
    fake = FakePython(installed={**FakePython().table, "legacy-lib": ("legacy-lib", "1.0"),
                                 "image-app": ("image-app", "2.0")})
    fake.requirers = {"legacy-lib": ["image-app 2.0"]}
    result = Run(fake, settings(tmp_path, deny={"legacy-lib": "breaks the embedder"},
                                deny_kept_for={"legacy-lib": {"image-app"}})).execute()
    (note,) = [n for n in result["notes"] if "legacy-lib" in n]
    assert result["kept_denied"] == ["legacy-lib==1.0"] and "required by image-app 2.0" in note
    assert "CUDA" not in note


def test_a_denied_package_only_denied_ones_require_still_fails(tmp_path):
    """cuda-python pulled in by plain pip brings cuda-bindings: neither came with the image."""
    fake = FakePython(installed={**FakePython().table, "cuda-python": ("cuda-python", "12.9.0"),
                                 "cuda-bindings": ("cuda-bindings", "12.9.0")})
    fake.requirers = {"cuda-bindings": ["cuda-python 12.9.0"]}
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path)).execute()
    assert sorted(err.value.result["denied_installed"]) == ["cuda-bindings", "cuda-python"]
    assert err.value.result["kept_denied"] == []


def test_a_denied_package_a_hand_installed_package_requires_is_not_kept(tmp_path):
    """Only the distributions of kept_for make a copy the image's: a plain `pip install asr-extras`
    that brought cuda-python (and cuda-bindings) is caught, not excused."""
    fake = FakePython(installed={**FakePython().table, "asr-extras": ("asr-extras", "1.0"),
                                 "cuda-python": ("cuda-python", "12.9.0"), "cuda-bindings": ("cuda-bindings", "12.9.0")})
    fake.requirers = {"cuda-python": ["asr-extras 1.0"], "cuda-bindings": ["cuda-python 12.9.0"]}
    with pytest.raises(ContainerPipError) as err:
        Run(fake, settings(tmp_path)).execute()
    assert sorted(err.value.result["denied_installed"]) == ["cuda-bindings", "cuda-python"]
    assert err.value.result["kept_denied"] == []


def test_check_only_reports_pins_and_fails_on_broken_imports(tmp_path):
    fake = FakePython()
    result = Run(fake, settings(tmp_path)).execute()
    assert not result["changed"] and result["pinned"]["torch"] == "2.9.0a0+145a3a7bda.nv25.10"
    assert fake.calls == []
    fake.table["torch-shadow"] = ("torch-shadow", "1.0.0")
    fake.broken_imports = {"torch-shadow": {"torch": "ImportError: shadowed"}}
    with pytest.raises(ContainerPipError, match="fails its import checks"):
        Run(fake, settings(tmp_path)).execute()


def test_reinstall_pins_recorded_versions_and_dependencies(tmp_path):
    fake = FakePython()
    loose(fake)
    Run(fake, settings(tmp_path, "loose-torch-user>=1")).execute()
    fresh = FakePython()  # the recreated container: back to the image's packages
    loose(fresh)
    result = Run(fresh, settings(tmp_path, reinstall=True, sources={})).execute()
    dry = next(a for a, _unused in fresh.calls if "--dry-run" in a)
    assert dry[-1] == "loose-torch-user==1.0.0" and result["changed"]
    constraints = fresh.calls[0][1]["PIP_CONSTRAINT"]
    assert constraints  # written to the scratch folder and used
    assert "bench-helper-lib==2.0.0" in result["constraints"]
    # No index given to the reinstall: the recorded one is used.
    assert dry[dry.index("--index-url") + 1] == "http://127.0.0.1:8570/simple/"
    # The manifest is the record, not rewritten by a reinstall.
    assert json.loads(open(result["manifest_path"]).read())["packages"]["loose-torch-user"]["requirement"] == \
        "loose-torch-user>=1"


def test_reinstall_without_manifest_is_nothing_to_do(tmp_path):
    fake = FakePython()
    result = Run(fake, settings(tmp_path, reinstall=True)).execute()
    assert not result["changed"] and "no package manifest" in result["notes"][0]


def test_missing_explicit_constraint_file_is_an_error(tmp_path):
    with pytest.raises(ContainerPipError, match="does not exist"):
        Run(FakePython(), settings(tmp_path, "x", constraint_file="/nope.txt")).execute()


def test_no_constraint_file_pins_the_family_and_says_so(tmp_path):
    fake = FakePython(constraint=None, env={})
    result = Run(fake, settings(tmp_path)).execute()
    assert "numpy" not in result["pinned"] and "torch" in result["pinned"]
    assert "only the installed torch family is pinned" in result["notes"][0]


def test_index_args():
    sources = sources_from({"index_url": "http://i/simple/", "extra_index_urls": ["http://e/"], "find_links": ["/w"],
                            "no_index": False, "trusted_hosts": ["i"], "retries": 0})
    assert "no_index" not in sources
    assert index_args(sources, 0, 5) == ["--index-url", "http://i/simple/", "--extra-index-url", "http://e/",
                                         "--find-links", "/w", "--trusted-host", "i", "--retries", "0", "--timeout", "5"]


# -- denied by what becomes importable, not only by name ------------------------------------
def turbo(fake):
    fake.dry_runs.append(("ok", report(("speech-turbo", "1.0.0", True, ["accel-kernels"]),
                                       ("accel-kernels", "1.0.0", False))))
    fake.wheels = {
        "accel-kernels-1.0.0-py3-none-any.whl": ["accel_kernels/__init__.py", "cuda/__init__.py",
                                                 "accel_kernels-1.0.0.dist-info/RECORD"],
        "speech-turbo-1.0.0-py3-none-any.whl": ["speech_turbo/__init__.py"],
    }
    fake.install_adds = {"speech-turbo": ("speech-turbo", "1.0.0"), "accel-kernels": ("accel-kernels", "1.0.0")}


def test_a_wheel_under_another_name_shipping_cuda_is_refused_before_installing(tmp_path):
    fake = FakePython()
    turbo(fake)
    with pytest.raises(ContainerPipError) as info:
        Run(fake, settings(tmp_path, "speech-turbo")).execute()
    assert str(info.value) == (
        "refused to install speech-turbo into 'parakeet-asr': (1) accel-kernels 1.0.0 (pulled in by speech-turbo -> "
        "accel-kernels; its wheel makes module cuda importable) is denied in this container: "
        + DEFAULT_DENY[0]["reason"] + ". Nothing was changed in the container (refused at the dry run).")
    (refusal,) = info.value.result["refusals"]
    assert refusal == {"rule": "denied", "package": "accel-kernels", "module": "cuda", "detail": (
        "accel-kernels 1.0.0 (pulled in by speech-turbo -> accel-kernels) would make denied module cuda importable "
        "(cuda/__init__.py in its wheel): " + DEFAULT_DENY[0]["reason"])}
    assert fake.installs() == [] and "accel-kernels" not in fake.table
    assert fake.scratch_removed == ["/tmp/spark-container-pip-test"]


def test_without_denied_modules_no_wheel_is_fetched(tmp_path):
    fake = FakePython()
    turbo(fake)
    result = Run(fake, settings(tmp_path, "speech-turbo", deny={}, deny_modules={})).execute()
    assert result["changed"] and "accel-kernels==1.0.0" in result["installed"]
    assert not [args for args, _env in fake.calls if args[0] == "download"]


def test_a_denied_module_that_only_shows_after_installing_is_rolled_back(tmp_path):
    """A .pth file can make a module importable that no file list shows: the check after installing finds it."""
    fake = FakePython()
    fake.dry_runs.append(("ok", report(("pth-hook", "1.0.0", True))))
    fake.wheels = {"pth-hook-1.0.0-py3-none-any.whl": ["pth_hook.pth", "hidden/cuda/__init__.py"]}
    fake.install_adds = {"pth-hook": ("pth-hook", "1.0.0")}
    fake.modules = {"cuda": {"origin": "/site/hidden/cuda/__init__.py", "dists": ["pth-hook"]}}
    with pytest.raises(ContainerPipError) as info:
        Run(fake, settings(tmp_path, "pth-hook")).execute()
    assert ("denied module cuda is importable after installing (from /site/hidden/cuda/__init__.py, owned by "
            "pth-hook)") in str(info.value)
    assert info.value.result["rollback"]["uninstalled"] == ["pth-hook"] and "pth-hook" not in fake.table
    assert "ships pth_hook.pth, code that runs at every interpreter start" in info.value.result["notes"][0]


def test_a_denied_module_already_importable_is_named_and_removed_with_its_distribution(tmp_path):
    fake = FakePython()
    fake.table["accel-kernels"] = ("accel-kernels", "1.0.0")
    fake.modules = {"cuda": {"origin": "/site/cuda/__init__.py", "dists": ["accel_kernels"]}}
    with pytest.raises(ContainerPipError) as info:
        Run(fake, settings(tmp_path)).execute()
    assert str(info.value) == (
        "container 'parakeet-asr' makes denied module(s) importable: cuda from /site/cuda/__init__.py (installed by "
        f"accel-kernels: {DEFAULT_DENY[0]['reason']}). Remove them (remove_denied=true, or: docker exec parakeet-asr "
        "python -m pip uninstall -y accel-kernels) and restart the container")
    assert info.value.result["denied_modules"] == ["cuda"]
    fixed = Run(fake, settings(tmp_path, remove_denied=True)).execute()
    assert fixed["changed"] and fixed["removed_denied"] == ["accel-kernels==1.0.0"]
    assert "accel-kernels" not in fake.table


def test_a_denied_module_no_distribution_owns_cannot_be_removed_by_the_module(tmp_path):
    fake = FakePython()
    fake.modules = {"cuda": {"origin": "/site/cuda/__init__.py", "dists": []}}
    with pytest.raises(ContainerPipError) as info:
        Run(fake, settings(tmp_path, remove_denied=True)).execute()
    assert str(info.value).endswith(
        "owned by no distribution: " + DEFAULT_DENY[0]["reason"] + "). Remove /site/cuda/__init__.py, which no "
        "installed distribution owns (remove_denied cannot uninstall it), or recreate the container from its image")
    assert [args for args, _env in fake.calls if args[0] == "uninstall"] == []


def test_a_module_of_a_denied_distribution_is_left_to_the_distribution_rule(tmp_path):
    fake = FakePython()
    fake.table["cuda-bindings"] = ("cuda-bindings", "12.9.0")
    fake.modules = {"cuda": {"origin": "/site/cuda", "dists": ["cuda_bindings", "cuda_pathfinder"]}}
    with pytest.raises(ContainerPipError) as info:
        Run(fake, settings(tmp_path)).execute()
    assert str(info.value).startswith("container 'parakeet-asr' already has denied package(s) installed: "
                                      "cuda-bindings 12.9.0 (")
    assert "module" not in str(info.value)
