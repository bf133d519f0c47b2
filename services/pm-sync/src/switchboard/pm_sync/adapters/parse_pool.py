"""HL7 parsing in a worker process, so a busy MLLP connection uses a second core.

Parsing (python-hl7 builds a tree of every field) is most of the intake's CPU. When enough
messages arrived together (`min_batch`), they are parsed in the worker while this process
keeps publishing, acknowledging and projecting; a few at a time are parsed here (the
hand-over would cost more than it saves). A worker that dies is replaced, and the batch it
had is parsed here instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from switchboard.platform.logging import get_logger
from switchboard.pm_sync.domain.hl7_mapping import Parsed, parse_many

log = get_logger(__name__)


def _warm() -> bool:
    return True


def _end_with(parent: int, every_s: float = 1.0) -> None:
    """In the worker: exit once pm-sync is gone. A worker blocks on its call queue, which
    never closes when pm-sync is killed (kill -9, OOM): it would be left running, orphaned,
    for good (the fault runs left one per pm-sync killed, ~95 MB each)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-pm-sync", daemon=True).start()


class ParsePool:
    def __init__(
        self, practice_id: str, default_tz: str, *, workers: int = 1, min_batch: int = 8
    ) -> None:
        self.practice_id = practice_id
        self.default_tz = default_tz
        self.workers = workers
        self.min_batch = max(1, min_batch)
        self._pool: ProcessPoolExecutor | None = None
        self._warming: asyncio.Future[bool] | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: a fresh interpreter, nothing inherited from this process's event loop
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_end_with,
            initargs=(os.getpid(),),
        )

    async def start(self) -> None:
        if self.workers <= 0:
            return
        self._pool = self._new_pool()
        # The worker (a new interpreter importing the parser, seconds on a busy machine)
        # starts in the background: pm-sync listens meanwhile and parses here until then.
        self._warming = asyncio.get_running_loop().run_in_executor(self._pool, _warm)

    @property
    def warm(self) -> bool:
        w = self._warming
        return w is not None and w.done() and not w.cancelled() and w.exception() is None

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        if self._pool is not None:
            # A worker still starting (or parsing) would hold the interpreter's exit until it
            # is done: end it (Python 3.14 names this terminate_workers()).
            processes = list(getattr(self._pool, "_processes", {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            self._pool = None

    async def __call__(self, texts: Sequence[str]) -> list[Parsed]:
        if self._pool is None or len(texts) < self.min_batch or not self.warm:
            return parse_many(texts, self.practice_id, self.default_tz)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, parse_many, list(texts), self.practice_id, self.default_tz
            )
        except BrokenProcessPool:
            log.error("hl7_parse_worker_died_replacing")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self._warming = asyncio.get_running_loop().run_in_executor(self._pool, _warm)
            return parse_many(texts, self.practice_id, self.default_tz)
