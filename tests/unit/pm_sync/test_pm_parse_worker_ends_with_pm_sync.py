"""pm-sync's HL7 parse worker (adapters/parse_pool.py) ends when pm-sync is killed. Before,
a `kill -9` of pm-sync left its worker running, orphaned, for good: the fault runs of
2026-12-07 left one per pm-sync killed (about 95 MB each)."""

import os
import signal
import subprocess
import sys
import time

# A pm-sync stand-in: starts the pool, waits until its worker is up, prints the worker's pid.
PARENT = """
import asyncio, sys
from switchboard.pm_sync.adapters.parse_pool import ParsePool

async def main():
    pool = ParsePool("demo", "UTC", workers=1)
    await pool.start()
    while not pool.warm:
        await asyncio.sleep(0.1)
    [worker] = pool._pool._processes
    print(worker, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # reparented and not yet reaped by init shows as a zombie: gone for our purpose
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def test_the_parse_worker_exits_when_pm_sync_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive(worker), "the parse worker outlived pm-sync"
    finally:
        parent.kill()
