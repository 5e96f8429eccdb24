"""Write one benchmark's section of BENCHMARKS.md (shared by the bench scripts).

Each benchmark owns the text between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; running it again replaces only that section, so the
figures in BENCHMARKS.md always come from the latest run of each benchmark.
"""
from __future__ import annotations

import platform
import re
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def machine() -> str:
    """One line naming when and where the figures were measured."""
    import os

    return (f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")


def write_section(name: str, markdown: str) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text)
