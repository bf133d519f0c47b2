"""The order a rebuild applies records in. Pure.

Within a partition the log's order is its offsets: that is the order the live consumer applies,
so it is the order the rebuild must apply too, whatever the records' timestamps say. A
record's timestamp is its producer's clock when it was sent, and offsets can run against
it: a send held in a producer while the broker was away can land after a later send from a
fresh producer (the 2026-12-07 fault run found a reply repeated under one Idempotency-Key
whose copies, one event id, sat in the log newest first). Across partitions there is no log
order; records are merged by timestamp there, so causes come before their effects.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Protocol, TypeVar


class Record(Protocol):
    @property
    def timestamp(self) -> int: ...


R = TypeVar("R", bound=Record)
P = TypeVar("P")


def release(buffers: Mapping[P, deque[R]], watermark: int | None) -> list[R]:
    """Take from each partition's buffer (in offset order) the records up to the first one
    later than `watermark` (None: all), and merge them across partitions by timestamp,
    keeping each partition's own order. Partitions are taken in the mapping's order on ties."""
    taken: list[list[R]] = []
    for buf in buffers.values():
        mine: list[R] = []
        while buf and (watermark is None or buf[0].timestamp <= watermark):
            mine.append(buf.popleft())
        if mine:
            taken.append(mine)
    # heapq.merge holds one head per input and advances an input only past the head it
    # yielded: each partition's order is kept even where its timestamps go backwards.
    merged: Iterator[R] = heapq.merge(*taken, key=lambda r: r.timestamp)
    return list(merged)
