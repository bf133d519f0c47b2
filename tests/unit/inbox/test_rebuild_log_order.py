"""A rebuild applies each partition in offset order, as the live consumer does, even where
record timestamps run backwards (log_order.py). The full fault run of 2026-12-07 found four
copies of one reply event (one event id, one Idempotency-Key) in one partition, newest first:
live kept the first in the log, the rebuild (which sorted by timestamp) the oldest, and the
inbox differed from its rebuild."""

from collections import deque
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from switchboard.inbox_projection.log_order import release


@dataclass(frozen=True)
class Rec:
    partition: int
    offset: int
    timestamp: int


def buffers(*partitions: list[int]) -> dict[int, deque[Rec]]:
    return {
        p: deque(Rec(p, o, ts) for o, ts in enumerate(stamps))
        for p, stamps in enumerate(partitions)
    }


def test_a_partition_whose_timestamps_go_backwards_keeps_its_offset_order():
    # partition 0: the copies sent at :56, :32, :38 in that offset order; partition 1: one at :40
    out = release(buffers([56, 32, 38], [40]), None)
    assert [(r.partition, r.offset) for r in out if r.partition == 0] == [(0, 0), (0, 1), (0, 2)]
    assert out[0] == Rec(1, 0, 40)  # across partitions, by time


def test_only_records_up_to_the_watermark_are_released_and_the_rest_wait_their_turn():
    held = buffers([10, 30, 20], [15, 25])
    out = release(held, 25)
    assert [(r.partition, r.offset) for r in out] == [(0, 0), (1, 0), (1, 1)]
    assert [r.offset for r in held[0]] == [1, 2]  # :30 is later than the watermark; :20 waits


@given(st.lists(st.lists(st.integers(0, 50), max_size=8), min_size=1, max_size=4))
def test_every_record_comes_out_once_with_each_partitions_order_kept(stamps):
    out = release(buffers(*stamps), None)
    assert len(out) == sum(map(len, stamps))
    for p in range(len(stamps)):
        assert [r.offset for r in out if r.partition == p] == list(range(len(stamps[p])))
