"""CPU time of processes and process trees, read from /proc (Linux), for the benchmarks.

A process's utime+stime is what it used itself; cutime+cstime is what its children that have
exited (and been waited for) used. A tree's CPU time is therefore the root's four fields plus,
for each child still alive, its own four fields: a child that exits between two samples moves
its time into the root's cutime+cstime, so the difference of two samples stays exact.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Times:
    """A process's CPU times in clock ticks, and its parent's pid."""

    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def own(self) -> int:
        """Ticks the process itself used."""
        return self.utime + self.stime

    @property
    def with_reaped_children(self) -> int:
        """Ticks the process and its exited, waited-for children used."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(text: str) -> Times:
    """The fields of a /proc/<pid>/stat line that matter here.

    The command name in parentheses may hold spaces and parentheses: split after the last ")".
    After it come state (field 3), ppid (4), ... utime (14), stime (15), cutime (16), cstime (17).
    """
    fields = text.rsplit(")", 1)[1].split()
    return Times(
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def parse_machine_stat(text: str) -> int:
    """Ticks all CPUs spent busy, from /proc/stat's first line (`cpu user nice system idle iowait
    irq softirq steal …`): everything but idle and iowait. Guest time is already inside user."""
    fields = [int(f) for f in text.splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


def machine_busy_seconds() -> float:
    """CPU time the whole machine (all its CPUs, every process and the kernel) has been busy so far."""
    return parse_machine_stat((PROC / "stat").read_text()) / _tick()


def _times(pid: int) -> Times:
    return parse_stat((PROC / str(pid) / "stat").read_text())


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (its own threads, not its children)."""
    return _times(pid).own / _tick()


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid` now (one pass over /proc)."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if _times(int(entry.name)).ppid == pid:
                    found.append(int(entry.name))
    return found


def tree_ticks(root: Times, live_children: list[Times]) -> int:
    """Ticks a process and its direct children used, living or exited (see the module's note)."""
    return root.with_reaped_children + sum(c.with_reaped_children for c in live_children)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time `pid` and its direct children (e.g. a postmaster's backends) have used so far."""
    live = []
    for child in children(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # it may exit meanwhile
            live.append(_times(child))
    return tree_ticks(_times(pid), live) / _tick()


def pin_tree(pid: int, cpu: str) -> None:
    """Pin a process and its current children to `cpu` (taskset); children forked later inherit it."""
    for target in (pid, *children(pid)):
        subprocess.run(
            ["taskset", "-a", "-p", "-c", cpu, str(target)],
            check=False,  # a backend may exit meanwhile
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
