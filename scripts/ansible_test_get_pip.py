"""Stand-in for pypa's get-pip.py, for ansible-test's sanity virtualenvs.

ansible-test bootstraps pip into each of its virtualenvs with a get-pip.py it
downloads from a host outside the package registries this machine reaches.
This script does the same job from a pip wheel taken from PyPI: pip runs from
its own wheel on sys.path and installs the packages it is asked for (pip
itself first among them). scripts/sanity.sh installs it into ansible-test's
cache under the name ansible-test looks for.
"""
import os
import runpy
import sys

WHEEL = os.environ.get("SPARK_AUDIO_PIP_WHEEL") or os.path.join(os.path.dirname(__file__), "pip.whl")
# get-pip.py options that pip install does not know.
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]

sys.path.insert(0, WHEEL)
# pip on sys.path from the wheel counts as installed: make it install anyway.
sys.argv = ["pip", "install", "--ignore-installed", *ARGS]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
