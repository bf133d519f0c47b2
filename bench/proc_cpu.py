"""CPU seconds a process has used (user + system, its waited-for children too), from /proc:
the benchmarks' CPU-per-message figures, which a machine shared with other work distorts far
less than wall-clock rates."""

from __future__ import annotations

import os
from collections.abc import Iterable

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                # after the command name (in parentheses, may hold spaces): fields 14-17
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(x) for x in fields[11:15])
    return total / TICK


def per_message_ms(cpu_s: float, count: int) -> str:
    return f"{cpu_s * 1000 / max(count, 1):.3f} CPU ms per message ({cpu_s:.2f} s CPU)"
