"""The newest version of an appointment and the next upcoming one: the rule the router's
routing (R-LOC-1, R-PROV-1) and pm-sync's patient panel (I-PANEL-1) share."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from switchboard.events import AppointmentChanged
from switchboard.pm_sync.domain.schedule import latest_appointments
from switchboard.pm_sync.domain.schedule import next_upcoming as panel_next
from switchboard.router.model import NextAppointment
from switchboard.router.working_set import AppointmentRow
from switchboard.rules.appointments import (
    is_active,
    newest_versions,
    next_upcoming,
    version_key,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
STATUSES = ["booked", "arrived", "checked_in", "fulfilled", "noshow", "cancelled", "deleted"]
CHANGES = ["booked", "rescheduled", "modified", "cancelled", "deleted", "noshow"]


def appt(
    appointment_id="a-1",
    status="booked",
    change="booked",
    start=NOW + timedelta(days=1),
    version=1,
    updated=NOW - timedelta(days=1),
    location="loc-1",
    event_id=None,
) -> AppointmentChanged:
    event_id = event_id or uuid.uuid4()
    return AppointmentChanged(
        event_id=event_id,
        correlation_id=event_id,
        practice_id="demo",
        occurred_at=updated,
        appointment_id=appointment_id,
        patient_id="p-1",
        change=change,
        status=status,
        start=start,
        location_id=location,
        source_updated_at=updated,
        source_version=version,
    )


def router_pick(events):
    """The router's fold (handlers._appointment): a row replaces the known one only when
    its version key is greater."""
    known: AppointmentRow | None = None
    for e in events:
        row = AppointmentRow(
            e.patient_id,
            NextAppointment.from_event(e),
            is_active(e.status, e.change),
            e.source_updated_at,
        )
        if known is None or row.version_key() > known.version_key():
            known = row
    return known


def test_is_active():
    assert is_active("booked", "booked") and is_active("arrived", "modified")
    assert not is_active("cancelled", "cancelled")
    assert not is_active("booked", "cancelled")  # the change ends it whatever the status
    assert not is_active("fulfilled", "modified")


def test_version_then_timestamp_then_ending_wins_then_event_id():
    t = NOW
    assert version_key(2, t - timedelta(days=9), True, "a") > version_key(1, t, False, "z")
    assert version_key(1, t, True, "a") > version_key(1, t - timedelta(1), False, "z")
    assert version_key(1, t, False, "a") > version_key(1, t, True, "z")
    assert version_key(1, t, True, "b") > version_key(1, t, True, "a")


# covers R-LOC-1, I-PANEL-1
def test_an_exact_tie_router_and_panel_agree_in_both_orders():
    """Same version and timestamp: a booking and a cancellation. The router used to keep
    whichever came first, pm-sync the cancellation; now both take the cancellation."""
    booked = appt(status="booked", change="booked")
    cancelled = appt(status="cancelled", change="cancelled")
    for order in ([booked, cancelled], [cancelled, booked]):
        assert latest_appointments(order)["a-1"] is cancelled
        row = router_pick(order)
        assert row is not None and not row.active
        assert row.appointment.event_id == cancelled.event_id
        assert panel_next(order, NOW) is None


# covers R-LOC-1, I-PANEL-1
def test_an_exact_tie_between_two_live_versions_is_the_higher_event_id_for_both():
    here = appt(location="loc-1")
    there = appt(location="loc-2")
    winner = max(here, there, key=lambda e: str(e.event_id))
    for order in ([here, there], [there, here]):
        assert latest_appointments(order)["a-1"] is winner
        row = router_pick(order)
        assert row is not None and row.appointment.location_id == winner.location_id
        nxt = panel_next(order, NOW)
        assert nxt is not None and nxt.location_id == winner.location_id


versions = st.builds(
    appt,
    appointment_id=st.sampled_from(["a-1", "a-2"]),
    status=st.sampled_from(STATUSES),
    change=st.sampled_from(CHANGES),
    start=st.integers(-2, 5).map(lambda d: NOW + timedelta(days=d)),
    version=st.integers(0, 2),
    updated=st.integers(0, 2).map(lambda d: NOW - timedelta(days=d)),
    location=st.sampled_from(["loc-1", "loc-2", None]),
    event_id=st.uuids(),
)


@given(st.lists(versions, max_size=6), st.randoms())
def test_the_pick_is_order_and_duplicate_independent(events, rnd):
    shuffled = events + events[: len(events) // 2]
    rnd.shuffle(shuffled)
    assert newest_versions(shuffled) == newest_versions(events)


# covers R-LOC-1, I-PANEL-1
@given(st.lists(versions.filter(lambda e: e.appointment_id == "a-1"), min_size=1, max_size=5))
def test_router_and_panel_pick_the_same_version_in_every_order(events):
    seen = set()
    for order in itertools.islice(itertools.permutations(events), 24):
        newest = newest_versions(order)["a-1"]
        row = router_pick(order)
        assert row is not None and row.appointment.event_id == newest.event_id
        seen.add(newest.event_id)
    assert len(seen) == 1


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(-3, 3)), max_size=6))
def test_next_upcoming_is_the_earliest_at_or_after_now_whatever_the_order(items):
    plans = [
        NextAppointment(
            appointment_id=f"{i}-{n}", start=NOW + timedelta(hours=h), event_id=uuid.uuid4()
        )
        for n, (i, h) in enumerate(items)
    ]
    picked = next_upcoming(plans, NOW)
    assert picked == next_upcoming(list(reversed(plans)), NOW)
    future = [p for p in plans if p.start >= NOW]
    if not future:
        assert picked is None
    else:
        assert picked is not None and picked.start == min(p.start for p in future)
        assert picked.appointment_id == min(
            p.appointment_id for p in future if p.start == picked.start
        )
