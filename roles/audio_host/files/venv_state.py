# Copyright (c) 2025, Spark Control team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the audio host has, and what its virtualenv lacks against the pins.

Run by the audio_host role with the host's system Python through
``ansible.builtin.raw`` (the venv may not exist yet, so no module can run):
``python3 -c <this file> VENV PINS``, where PINS is the text of the pinned
requirements (``name==version`` lines). Prints one JSON object: the host's
platform (machine, glibc, Python), whether ``venv`` can work (ensurepip), the
venv's state and the pins to install and the packages to remove so that it
holds exactly the pins. Standard library only: the system Python has
nothing else (and PEP 668 keeps it that way).
"""
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys


def canonical(name):
    # PEP 503 normalisation, as pip compares names.
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text):
    wanted = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            wanted[canonical(name.strip())] = version.strip()
    return wanted


def venv_version(venv):
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as handle:
            for line in handle:
                key, _sep, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    return ".".join(value.strip().split(".")[:2])
    except OSError:
        return None
    return None


def freeze(python):
    try:
        done = subprocess.run([python, "-m", "pip", "freeze", "--disable-pip-version-check"],
                              capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"exit code {done.returncode}"
    installed = {}
    for line in done.stdout.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            installed[canonical(name)] = version.strip()
        elif line.strip() and not line.startswith("#"):
            installed[canonical(re.split(r"[ @=<>]", line.strip(), maxsplit=1)[0])] = line.strip()
    return installed, None


def main():
    venv, text = sys.argv[1], sys.argv[2]
    wanted = pins(text)
    here = "%d.%d" % sys.version_info[:2]
    libc, libc_version = platform.libc_ver()
    state = {"python": here, "machine": platform.machine(), "libc": libc, "glibc": libc_version,
             "ensurepip": importlib.util.find_spec("ensurepip") is not None, "venv": venv,
             "venv_python": None, "installed": {}, "install": [], "remove": [], "problem": None}
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        state["status"] = "absent"
    else:
        state["venv_python"] = venv_version(venv)
        installed, problem = freeze(python)
        if state["venv_python"] != here:
            state["status"] = "stale"
            state["problem"] = f"made with Python {state['venv_python'] or 'unknown'}, the host has {here}"
        elif installed is None:
            state["status"] = "broken"
            state["problem"] = f"its pip does not run ({problem})"
        else:
            state["installed"] = installed
            state["remove"] = sorted(n for n in installed if n not in wanted)
            state["status"] = "current"
    if state["status"] != "current":
        state["install"] = [f"{n}=={v}" for n, v in sorted(wanted.items())]
    else:
        state["install"] = [f"{n}=={v}" for n, v in sorted(wanted.items()) if state["installed"].get(n) != v]
        if state["install"] or state["remove"]:
            state["status"] = "drift"
    print(json.dumps(state))


main()
