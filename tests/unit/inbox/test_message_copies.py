"""Two copies of one message (same message id, its own event id each): the row keeps the
earliest time in whatever order the copies are met, in a batch and across batches, live
(`earliest_copies`) and in a rebuild's bulk load (`BulkKeys`). Issue 21's fault run found a
row differing live vs rebuilt because each path kept the first copy it met."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.inbox_projection.bulk import BulkKeys
from switchboard.inbox_projection.model import earliest_copies

MID = uuid.uuid4()
FIRST = datetime(2026, 12, 7, 9, 37, 28, tzinfo=UTC)
RETRY = FIRST + timedelta(seconds=23)


def row(at: datetime, mid: uuid.UUID = MID) -> dict:
    return {"message_id": mid, "sent_at": at, "body": "same words"}


@pytest.mark.parametrize("order", [(FIRST, RETRY), (RETRY, FIRST)])
def test_one_batch_keeps_the_earliest_copy(order):
    # covers X-REPLAY-1
    other = row(RETRY, uuid.uuid4())
    kept = earliest_copies([row(order[0]), other, row(order[1])])
    assert sorted((r["message_id"] == MID, r["sent_at"]) for r in kept) == [
        (False, RETRY),
        (True, FIRST),
    ]


@pytest.mark.parametrize("order", [(FIRST, RETRY), (RETRY, FIRST)])
def test_a_rebuild_writes_one_row_and_corrects_it_to_the_earliest(order):
    # covers X-REPLAY-1
    keys = BulkKeys()
    written = keys.new_messages([row(order[0])]) + keys.new_messages([row(order[1])])
    assert [r["sent_at"] for r in written] == [order[0]]
    final = {**written[0], "sent_at": keys.earlier.get(MID, written[0]["sent_at"])}
    assert final["sent_at"] == FIRST
    assert bool(keys.earlier) is (order[0] == RETRY)
