"""reapply_patches.yml's switches as operators give them: -e values are strings.

The bench's overlay is current (overlay_applied), so each run is a no-op;
its one line per host says whether real speech was sent.
"""
from __future__ import annotations

import re

from conftest import _bench_playbook


def _line(done) -> str:
    """The host's report line (the last "spark2: ..." message of the run)."""
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    lines = re.findall(r"""^\s*msg: ['"]?(spark2: .*?)['"]?$""", done.stdout, re.M)
    assert lines, done.stdout[-3000:]
    return lines[-1]


def test_verify_false_from_the_command_line_sends_no_speech(overlay_applied):
    checked = _line(_bench_playbook("playbooks/reapply_patches.yml"))
    assert "already current" in checked and "real speech OK" in checked, checked
    # "false" from -e is a string: the role must read it as the boolean it documents.
    unchecked = _line(_bench_playbook("playbooks/reapply_patches.yml", "-e", "parakeet_overlay_verify=false"))
    assert "already current" in unchecked and "no speech check" in unchecked, unchecked
