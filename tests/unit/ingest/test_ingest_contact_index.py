"""The in-memory contact index says what `ingest.contacts` says (I-THREAD-1, I-UNREC-1):
a number is recognized when exactly one patient of the practice uses it, with the newest
record of each patient (ADR 0031)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.ingest.domain.contact_index import ContactIndex
from switchboard.rules.contacts import recognized

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PHONE, OTHER = "+12125550101", "+12125550102"


def test_a_number_one_patient_uses_is_recognized_and_a_family_phone_is_not():
    # covers I-THREAD-1, I-UNREC-1
    index = ContactIndex()
    index.apply("p1", "jane", T0, (PHONE, "Jane@Home.test"))
    assert recognized(index.owners("p1", PHONE))
    assert index.owners("p1", "jane@home.test") == 1  # emails compare without case
    assert index.owners("p2", PHONE) == 0  # another practice's patient is not this one's
    index.apply("p1", "john", T0, (PHONE,))
    assert index.owners("p1", PHONE) == 2
    assert not recognized(index.owners("p1", PHONE))


def test_a_changed_number_stops_being_the_patients():
    index = ContactIndex()
    index.apply("p1", "jane", T0, (PHONE,))
    assert index.apply("p1", "jane", T0 + timedelta(hours=1), (OTHER,))
    assert index.owners("p1", PHONE) == 0
    assert index.owners("p1", OTHER) == 1


def test_an_older_record_arriving_late_is_ignored_and_a_tie_goes_to_the_later():
    index = ContactIndex()
    index.apply("p1", "jane", T0, (PHONE,))
    assert not index.apply("p1", "jane", T0 - timedelta(seconds=1), (OTHER,))
    assert index.owners("p1", PHONE) == 1
    assert index.apply("p1", "jane", T0, (OTHER,))  # same stamp, later in the log
    assert (index.owners("p1", PHONE), index.owners("p1", OTHER)) == (0, 1)


def test_loaded_from_the_tables_then_updated_from_the_log():
    index = ContactIndex()
    index.load(
        [("p1", "jane", T0), ("p1", "john", T0)],
        [("p1", PHONE, "jane"), ("p1", PHONE, "john"), ("p1", OTHER, "john")],
    )
    assert index.owners("p1", PHONE) == 2 and len(index) == 2
    # A record the table already holds, replayed from the group's offsets: no change.
    assert index.apply("p1", "john", T0, (PHONE, OTHER))
    assert index.owners("p1", PHONE) == 2
    index.apply("p1", "john", T0 + timedelta(minutes=1), (OTHER,))
    assert recognized(index.owners("p1", PHONE))


def test_not_ready_until_the_feed_says_so():
    assert not ContactIndex().ready


updates = st.lists(
    st.tuples(
        st.sampled_from(["jane", "john", "ann"]),
        st.integers(0, 3),
        st.lists(st.sampled_from([PHONE, OTHER, "+12125550103", "a@x.test"]), max_size=3),
    ),
    max_size=25,
)


@given(updates)
def test_the_index_agrees_with_the_newest_record_of_each_patient(log):
    index = ContactIndex()
    newest: dict[str, tuple[datetime, set[str]]] = {}
    for patient, minutes, contacts in log:
        at = T0 + timedelta(minutes=minutes)
        index.apply("p1", patient, at, contacts)
        if patient not in newest or newest[patient][0] <= at:
            newest[patient] = (at, set(contacts))
    for contact in (PHONE, OTHER, "+12125550103", "a@x.test"):
        expected = sum(contact in cs for _, cs in newest.values())
        assert index.owners("p1", contact) == expected


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_contacts_are_not_contacts(blank):
    index = ContactIndex()
    index.apply("p1", "jane", T0, (blank, PHONE))
    assert index.owners("p1", blank) == 0


def test_loaded_again_after_a_failure_it_keeps_what_it_knew_newer():
    # The feed reloads the table after a Kafka error; the table may lag the log.
    index = ContactIndex()
    index.apply("p1", "jane", T0 + timedelta(minutes=5), (OTHER,))
    index.load([("p1", "jane", T0)], [("p1", PHONE, "jane")])
    assert (index.owners("p1", PHONE), index.owners("p1", OTHER)) == (0, 1)
    index.load([("p1", "jane", T0 + timedelta(minutes=9))], [("p1", PHONE, "jane")])
    assert (index.owners("p1", PHONE), index.owners("p1", OTHER)) == (1, 0)
