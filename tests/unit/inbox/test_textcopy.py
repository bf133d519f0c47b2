"""The COPY text encoding of a rebuild's bulk load (textcopy.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from switchboard.inbox_projection import storage
from switchboard.inbox_projection.textcopy import Encoder, Memo, esc, text_array


def test_text_escapes_what_copy_reads_as_special() -> None:
    assert esc("plain") == "plain"
    assert esc("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"


def test_text_arrays_quote_every_element() -> None:
    assert text_array([]) == "{}"
    assert text_array(["u-1", "u 2"]) == '{"u-1","u 2"}'
    # quotes and backslashes escaped inside the literal, then the literal for COPY
    assert text_array(['a"b', "c\\d", "e,f"]) == '{"a\\\\"b","c\\\\\\\\d","e,f"}'
    assert text_array(["", "NULL", "x\ty"]) == '{"","NULL","x\\ty"}'


def test_rows_in_column_order_with_nulls() -> None:
    t = storage.tables("inbox_r99")
    memo = Memo()
    cid, at = uuid.uuid4(), datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    (line,) = Encoder(t["membership_history"], memo).lines(
        [("p\t1", "routed:u-1", cid, at, None)], tuples=True
    )
    assert line == f"p\\t1\trouted:u-1\t{cid}\t2026-01-02T03:04:05.000600+00:00\t\\N\n"
    (line,) = Encoder(t["patients"], memo).lines(
        [
            {
                "practice_id": "p",
                "patient_id": "x",
                "given_name": "Ada",
                "family_name": "Lovelace",
                "birth_date": date(1815, 12, 10),
                "phones": ["+1"],
                "emails": [],
                "preferred_language": None,
                "timezone": None,
                "own_care_team": ["u-1"],
                "own_primary_contact": None,
                "care_team": ["u-1", "u-2"],
                "primary_contact": "u-1",
                "source_updated_at": at.astimezone(timezone(timedelta(hours=2))),
            }
        ]
    )
    assert line.split("\t") == [
        "p",
        "x",
        "Ada",
        "Lovelace",
        "1815-12-10",
        '{"+1"}',
        "{}",
        "\\N",
        "\\N",
        '{"u-1"}',
        "\\N",
        '{"u-1","u-2"}',
        "u-1",
        # the same instant as `at` (a timestamptz keeps only the instant)
        "2026-01-02T03:04:05.000600+00:00\n",
    ]


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Memo().stamp(datetime(2026, 1, 1))
