"""Schedule queries: next upcoming appointment (R-LOC-1, R-PROV-1), panel encounters
(I-PANEL-1), and who a phone or email could be (I-UNREC-1). Delivery may repeat or reorder.

# covers R-LOC-1 R-LOC-2 R-PROV-1 I-PANEL-1 I-UNREC-1
"""

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from switchboard.events import AppointmentChanged, PatientUpserted, deterministic_id
from switchboard.pm_sync.domain.schedule import (
    latest_appointments,
    next_upcoming,
    patients_by_contact,
    recent_encounters,
)
from switchboard.rules.contacts import normalize_email, normalize_phone

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
_seq = itertools.count()


def appt(
    appt_id,
    start,
    status="booked",
    *,
    updated=None,
    version=0,
    patient="p-1",
    location="loc-manhattan",
    change=None,
):
    n = next(_seq)
    return AppointmentChanged(
        event_id=deterministic_id("demo", "test", str(n)),
        occurred_at=updated or NOW - timedelta(days=30),
        practice_id="demo",
        correlation_id=deterministic_id("demo", "test", str(n)),
        appointment_id=appt_id,
        patient_id=patient,
        change=change
        or {"cancelled": "cancelled", "noshow": "noshow", "deleted": "deleted"}.get(
            status, "booked"
        ),
        status=status,
        start=start,
        location_id=location,
        provider_id="dr-1",
        source_updated_at=updated or NOW - timedelta(days=30),
        source_version=version,
    )


def patient(pid, phones=(), emails=(), updated=NOW - timedelta(days=5)):
    return PatientUpserted(
        event_id=deterministic_id("demo", "test-p", pid, updated.isoformat()),
        occurred_at=updated,
        practice_id="demo",
        correlation_id=deterministic_id("demo", "test-p", pid),
        patient_id=pid,
        given_name="G",
        family_name="F",
        phones=phones,
        emails=emails,
        source_updated_at=updated,
    )


def at(days, hour=14):
    return (NOW + timedelta(days=days)).replace(hour=hour, minute=0)


def test_next_upcoming_is_the_soonest_live_appointment_at_or_after_now():
    appts = [
        appt("a-past", at(-2)),
        appt("a-far", at(20), location="loc-queens"),
        appt("a-soon", at(3), location="loc-brooklyn"),
        appt("a-cancelled", at(1), "cancelled"),
        appt("a-noshow", at(1), "noshow"),
        appt("a-deleted", at(1), "deleted"),
        appt("a-done", at(0, 16), "fulfilled"),
    ]
    nxt = next_upcoming(appts, NOW)
    assert nxt.appointment_id == "a-soon" and nxt.location_id == "loc-brooklyn"
    assert next_upcoming([appt("now", NOW)], NOW).appointment_id == "now"  # start >= now
    assert next_upcoming([appt("arrived", at(0, 16), "arrived")], NOW).status == "arrived"


def test_patient_with_no_appointments_has_no_next_upcoming_and_no_encounters():
    assert next_upcoming([], NOW) is None
    others = [appt("x", at(2), patient="p-2")]
    assert next_upcoming(others, NOW, patient_id="p-1") is None
    assert recent_encounters(others, NOW.date(), patient_id="p-1") == []
    with pytest.raises(ValueError):
        next_upcoming([], NOW.replace(tzinfo=None))


def test_reschedule_moves_the_one_appointment():
    booked = appt("a-1", at(2), updated=NOW - timedelta(days=10))
    moved = appt("a-1", at(9), updated=NOW - timedelta(days=1), change="rescheduled")
    assert list(latest_appointments([booked, moved])) == ["a-1"]
    assert next_upcoming([booked, moved], NOW).start == at(9)


def test_duplicate_delivery_is_idempotent():
    booked = appt("a-1", at(2), updated=NOW - timedelta(days=10))
    cancel = appt("a-1", at(2), "cancelled", updated=NOW - timedelta(days=2))
    once = next_upcoming([booked, cancel], NOW)
    twice = next_upcoming([booked, booked, cancel, cancel, booked], NOW)
    assert once is None and twice is None
    assert recent_encounters([booked] * 3, NOW.date()) == [booked]


def test_out_of_order_delivery_gives_the_same_answer_in_every_order():
    booked = appt("a-1", at(2), updated=NOW - timedelta(days=10))
    moved = appt("a-1", at(5), updated=NOW - timedelta(days=5), change="rescheduled")
    cancelled = appt("a-1", at(5), "cancelled", updated=NOW - timedelta(days=1))
    other = appt("a-2", at(7), updated=NOW - timedelta(days=3))
    answers = {
        (next_upcoming(order, NOW).appointment_id, len(recent_encounters(order, NOW.date())))
        for order in itertools.permutations([booked, moved, cancelled, other])
    }
    assert answers == {("a-2", 1)}


def test_source_version_beats_timestamp_and_ties_resolve_the_same_way():
    v2 = appt("a-1", at(4), version=2, updated=NOW - timedelta(days=9))
    v1 = appt("a-1", at(6), version=1, updated=NOW - timedelta(days=1))  # clock skew
    assert next_upcoming([v1, v2], NOW).start == at(4)
    same = NOW - timedelta(days=1)
    booked, cancelled = (
        appt("a-3", at(2), updated=same),
        appt("a-3", at(2), "cancelled", updated=same),
    )
    assert next_upcoming([booked, cancelled], NOW) is None
    assert next_upcoming([cancelled, booked], NOW) is None


def test_encounters_upcoming_from_today_first_then_most_recent_past():
    today = NOW.date()
    appts = [
        appt("past-1", at(-1)),
        appt("past-2", at(-10), "fulfilled"),
        appt("past-3", at(-20), "fulfilled"),
        appt("past-4", at(-40), "fulfilled"),
        appt("past-noshow", at(-3), "noshow"),
        appt("today-early", at(0, 9), "fulfilled"),  # earlier today still counts as today
        appt("next-week", at(7)),
        appt("tomorrow", at(1)),
        appt("cancelled", at(2), "cancelled"),
    ]
    got = [a.appointment_id for a in recent_encounters(appts, today)]
    assert got == ["today-early", "tomorrow", "next-week", "past-1", "past-2"]
    assert [a.appointment_id for a in recent_encounters(appts, today, limit=2)] == [
        "today-early",
        "tomorrow",
    ]
    assert recent_encounters(appts, today, limit=0) == []


def test_encounter_day_is_taken_in_the_practice_zone():
    late_evening_ny = datetime(2025, 3, 11, 2, 30, tzinfo=UTC)  # 10:30 pm on 10 March in NY
    a = appt("a-1", late_evening_ny)
    b = appt("b-1", datetime(2025, 3, 11, 20, 0, tzinfo=UTC))
    # in New York `a` was yesterday: upcoming `b` comes first, then past `a`
    assert recent_encounters([a, b], date(2025, 3, 11), tz="America/New_York") == [b, a]
    # by the UTC date both are today's, soonest first
    assert recent_encounters([a, b], date(2025, 3, 11)) == [a, b]


def test_encounters_are_capped_at_five_and_upcoming_fill_first():
    upcoming = [appt(f"u{i}", at(i + 1)) for i in range(7)]
    past = [appt(f"p{i}", at(-i - 1)) for i in range(3)]
    items = upcoming + past
    random.Random(4).shuffle(items)
    assert [a.appointment_id for a in recent_encounters(items, NOW.date())] == [
        "u0",
        "u1",
        "u2",
        "u3",
        "u4",
    ]


def test_two_patients_sharing_a_family_phone_are_both_offered():
    mom = patient("p-1", phones=("+12125550101",), emails=("mom@example.com",))
    kid = patient("p-2", phones=("+12125550101",))
    other = patient("p-3", phones=("+17185550199",))
    for written in ("+12125550101", "(212) 555-0101", "212.555.0101", "1-212-555-0101"):
        assert [p.patient_id for p in patients_by_contact([kid, other, mom], written)] == [
            "p-1",
            "p-2",
        ]
    assert [p.patient_id for p in patients_by_contact([mom, kid], "MOM@Example.com ")] == ["p-1"]
    assert patients_by_contact([mom, kid, other], "+13125550000") == []  # unrecognized
    assert patients_by_contact([mom], "not a phone") == []


def test_contact_match_uses_the_newest_patient_record():
    old = patient("p-1", phones=("+12125550101",), updated=NOW - timedelta(days=9))
    new = patient("p-1", phones=("+19175550102",), updated=NOW - timedelta(days=1))
    assert patients_by_contact([new, old], "+12125550101") == []
    assert patients_by_contact([old, new], "+19175550102") == [new]


def test_normalisers():
    assert normalize_phone("(212) 555-0101") == "+12125550101"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("555-1234") is None
    assert normalize_phone("") is None
    assert normalize_email(" Mailto:Jane@Example.COM ") == "jane@example.com"
    assert normalize_email("jane@localhost") is None
