"""Record what pip prints for each failure container_pip tells apart.

The unit tests of ``_pip/failures.py`` read these recordings
(``tests/unit/plugins/module_utils/fixtures/pip_output/<pip version>/``), so
the classifier is tested against real pip wording, per pip release. Run it
against an environment with the NGC torch stand-ins installed and the test
index served (see docs/pip.md), once per pip version:

    capture_pip_output.py OUT_DIR INDEX_URL DEAD_INDEX_URL -- PIP_COMMAND...

PIP_COMMAND runs pip there, e.g. ``docker exec -e PIP_CONSTRAINT=... C python -m pip``.
Flags match the ones container_pip uses.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FLAGS = ["install", "--progress-bar", "off", "--no-color", "--root-user-action=ignore", "--prefer-binary",
         "--disable-pip-version-check", "--no-input", "--retries", "1", "--timeout", "5", "--dry-run"]

# case name -> (extra pip arguments, requirements)
CASES = {
    "pinned_dependency": ([], ["needs-new-torch"]),
    "pinned_direct": ([], ["torch>=2.10"]),
    "conflict": ([], ["bench-helper-lib==1.0.0", "needs-newer-helper"]),
    "unknown_package": ([], ["no-such-package-here"]),
    "no_matching_version": ([], ["bench-helper-lib==9.9"]),
    "isolated_build_needs_torch": ([], ["torchaudio"]),
    "offline": (["DEAD"], ["loose-torch-user"]),
    "ok_sdist": ([], ["sdist-only-lib"]),
}


def main() -> int:
    if len(sys.argv) < 6 or "--" not in sys.argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = sys.argv.index("--")
    out, index, dead = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    pip = sys.argv[split + 1:]
    out.mkdir(parents=True, exist_ok=True)
    for case, (extra, reqs) in CASES.items():
        url = dead if "DEAD" in extra else index
        # One stream, interleaved as pip wrote it: what docker exec hands the module.
        done = subprocess.run(pip + FLAGS + ["--index-url", url] + reqs, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        (out / f"{case}.txt").write_text(done.stdout)
        print(f"{case}: exit {done.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
