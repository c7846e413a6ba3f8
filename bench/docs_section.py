"""Writing a benchmark's section of docs/benchmarks.md: replaced in place on a re-run, appended the first time.

Standard library only: bench/referral_loop.py is re-imported inside Temporal's workflow sandbox.
"""

from __future__ import annotations

from pathlib import Path

PREAMBLE = "# Benchmarks\n\nResults of the scripts in `bench/`.\n"


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put `body` (which starts with `heading`, a `## ` line) where that section was, or at the end."""
    old = path.read_text() if path.exists() else PREAMBLE
    start = old.find(heading)
    if start == -1:
        new = old.rstrip("\n") + "\n\n" + body
    else:
        nxt = old.find("\n## ", start + len(heading))
        new = old[:start] + body + ("" if nxt == -1 else "\n" + old[nxt + 1 :])
    path.write_text(new)
