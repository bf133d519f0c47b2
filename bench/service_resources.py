"""Memory and CPU of each running service while a load runs: the figures behind the
resources in deploy/base/*/deployment.yaml (docs/operations.md, "Resources").

    uv run python bench/service_resources.py --match /tmp/run -- \
        uv run python bench/webhook_latency.py --port-base 37400 --count 2000 --rate 50

Samples /proc once a second for each `switchboard-<service> run` process and its children
(pm-sync's HL7 parse workers), whose command line contains --match (tells one run from
another on a shared machine), and prints per service: RSS at rest, peak RSS under load, and
CPU in cores (mean over the load, and the busiest 5 s). The same as reading `ps -o rss,time`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

SERVICES = ["gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync"]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _procs() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (ppid, cmdline, rss bytes, cpu ticks)."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            rss = int((d / "statm").read_text().split()[1]) * PAGE
        except OSError:
            continue
        out[int(d.name)] = (int(stat[1]), cmd, rss, int(stat[11]) + int(stat[12]))
    return out


def sample(match: str, env_match: dict[int, str]) -> dict[str, tuple[int, int]]:
    """service -> (rss bytes, cpu ticks), over the service's process tree."""
    procs = _procs()
    roots: dict[int, str] = {}
    for pid, (_, cmd, _, _) in procs.items():
        for s in SERVICES:
            if f"switchboard-{s} run" in cmd and env_match.get(pid, "").find(match) >= 0:
                roots[pid] = s
    totals = {s: (0, 0) for s in SERVICES}
    for pid, (_ppid, _, rss, cpu) in procs.items():
        owner, p = None, pid
        while p and owner is None:
            owner = roots.get(p)
            p = procs[p][0] if p in procs else 0
        if owner:
            r, c = totals[owner]
            totals[owner] = (r + rss, c + cpu)
    return totals


def _environ(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/environ").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--match", required=True, help="text in the services' environment (run home)")
    ap.add_argument("load", nargs=argparse.REMAINDER, help="the load command, after --")
    args = ap.parse_args()
    env = {p: _environ(p) for p in _procs()}
    rest = sample(args.match, env)
    load = subprocess.Popen([a for a in args.load if a != "--"])
    series: list[tuple[float, dict[str, tuple[int, int]]]] = []
    while load.poll() is None:
        series.append((time.monotonic(), sample(args.match, env)))
        time.sleep(1)
    series.append((time.monotonic(), sample(args.match, env)))
    print(f"{'service':18} {'rss rest':>9} {'rss peak':>9} {'cpu mean':>9} {'cpu 5s max':>10}")
    for s in SERVICES:
        (t0, first), (t1, last) = series[0], series[-1]
        mean = (last[s][1] - first[s][1]) / TICK / max(t1 - t0, 1e-9)
        peak5 = max(
            (
                (series[i + 5][1][s][1] - series[i][1][s][1])
                / TICK
                / (series[i + 5][0] - series[i][0])
                for i in range(len(series) - 5)
            ),
            default=mean,
        )
        peak_rss = max(x[s][0] for _, x in series)
        print(
            f"{s:18} {rest[s][0] / 2**20:8.0f}M {peak_rss / 2**20:8.0f}M {mean:9.2f} {peak5:10.2f}"
        )


if __name__ == "__main__":
    main()
