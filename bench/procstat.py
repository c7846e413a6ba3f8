"""CPU-s of the bench's processes, read from /proc: the whole box, and each process under a name.

Process time moves far less with the box's load than wall rates do, so the benches report it per phase (issue 10).
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")


def box_cpu_s() -> float:
    """CPU-s the whole box has used (user, nice, system, iowait, irq, softirq) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / CLK


@dataclass
class Processes:
    """One reading of /proc: each kept process's parent, command name and own CPU ticks (user + system)."""

    parents: dict[int, int] = field(default_factory=dict)
    comms: dict[int, str] = field(default_factory=dict)
    ticks: dict[int, int] = field(default_factory=dict)
    # Own ticks plus those of children they have reaped: nothing a finished child used is lost from the total.
    total_ticks: int = 0

    def cpu_by_name(self, named: dict[int, str] | None = None, under: int | None = None) -> dict[str, float]:
        """CPU-s of each process under its nearest `named` ancestor's name (a pool's workers count as their API),
        else its command name; with `under`, only that pid's descendants count."""
        used: dict[str, float] = {}
        for pid, own in self.ticks.items():
            name, up, ours = None, pid, under is None
            while up in self.parents and up > 1:
                if name is None and named and up in named:
                    name = named[up]
                if up == under:
                    ours = True
                    break
                up = self.parents[up]
            if ours:
                key = name or self.comms[pid]
                used[key] = used.get(key, 0.0) + own / CLK
        return used


def in_my_netns() -> Callable[[Path], bool]:
    """Keeps the processes in this process's network namespace (bench/imaging.py runs in one of its own)."""
    mine = os.readlink("/proc/self/ns/net")
    return lambda d: os.readlink(d / "ns" / "net") == mine


def read_processes(keep: Callable[[Path], bool] | None = None) -> Processes:
    """Every process (or those `keep` accepts, given its /proc directory) as it is now."""
    out = Processes()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):  # a process may end while we read it
            if keep is not None and not keep(d):
                continue
            comm, _, rest = (d / "stat").read_text().partition(" (")[2].rpartition(")")
            f = rest.split()
            pid, own = int(d.name), int(f[11]) + int(f[12])
            out.parents[pid], out.comms[pid], out.ticks[pid] = int(f[1]), comm, own
            out.total_ticks += own + int(f[13]) + int(f[14])
    return out
