"""The seeded demo practice: deterministic, realistic, and accepted end to end over MLLP.

# covers X-FHIR-1 I-UNREC-1 I-PANEL-1
"""

import collections
from datetime import UTC, datetime, timedelta

import pytest
from system_support import stranger_number

from switchboard.events import AppointmentChanged, PatientUpserted
from switchboard.pm_sync.adapters.mllp import MLLPServer
from switchboard.pm_sync.domain.fhir_bundle import map_bundle
from switchboard.pm_sync.domain.hl7_mapping import parse_hl7
from switchboard.pm_sync.domain.schedule import (
    latest_appointments,
    next_upcoming,
    patients_by_contact,
    recent_encounters,
)
from switchboard.pm_sync.entrypoints.hl7_intake import hl7_callback
from switchboard.rules.contacts import normalize_phone
from switchboard_demo.fhir_server import search
from switchboard_demo.load import load_demo
from switchboard_demo.practice import DEMO_STAFF, LOCATIONS, PROVIDERS, generate_demo

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo():
    return generate_demo(seed=7, now=NOW)


@pytest.fixture(scope="module")
def events(demo):
    out = []
    for text in demo.hl7_messages():
        out.extend(parse_hl7(text, "demo", default_tz="America/New_York").events)
    return out


def test_same_seed_same_practice_other_seed_other_practice(demo):
    again = generate_demo(seed=7, now=NOW + timedelta(hours=3))  # same day in New York
    assert again.hl7_messages() == demo.hl7_messages()
    assert again.fhir_bundles() == demo.fhir_bundles()
    assert generate_demo(seed=8, now=NOW).hl7_messages() != demo.hl7_messages()


def test_shape_of_the_practice(demo):
    assert [loc.name for loc in LOCATIONS] == ["Manhattan", "Brooklyn", "Queens"]
    assert len(PROVIDERS) == 10 and len(demo.patients) == 500
    starts = [a.start for a in demo.appointments]
    assert min(starts) >= demo.now - timedelta(days=92)
    assert max(starts) <= demo.now + timedelta(days=62)
    assert any(s < demo.now for s in starts) and any(s > demo.now for s in starts)
    assert {a.location_id for a in demo.appointments} == {loc.location_id for loc in LOCATIONS}
    phones = collections.Counter(p.phone for p in demo.patients)
    assert sum(1 for n in phones.values() if n > 1) >= 10  # families share a phone
    with_appts = {a.patient_id for a in demo.appointments}
    assert len({p.patient_id for p in demo.patients} - with_appts) >= 5  # some have none


def test_care_team_ids_are_demo_staff(demo):
    staff = {s.user_id for s in DEMO_STAFF}
    assert {"u-admin", "u-ma-manhattan-1", "u-dr-1"} <= staff
    for p in demo.patients:
        assert set(p.care_team) <= staff and p.primary_contact in p.care_team


def test_every_hl7_message_parses_and_messages_are_in_time_order(demo, events):
    messages = demo.hl7_messages()
    triggers = collections.Counter(parse_hl7(m, "demo").trigger for m in messages)
    assert {"A04", "S12", "S13", "S14", "S15", "S26"} <= set(triggers)
    assert triggers["A04"] == 500
    assert len({m.split("|")[9] for m in messages}) == len(messages)  # unique control ids
    sent = [e.occurred_at for e in events]
    assert sent == sorted(sent)
    assert all(t <= demo.now for t in sent)


def test_hl7_feed_folds_to_the_generated_final_state(demo, events):
    appts = latest_appointments(e for e in events if isinstance(e, AppointmentChanged))
    assert len(appts) == len(demo.appointments)
    for a in demo.appointments:
        got = appts[a.appointment_id]
        assert (got.status, got.start, got.location_id, got.provider_id) == (
            a.status,
            a.start,
            a.location_id,
            a.provider.provider_id,
        )


def test_shared_family_phone_offers_every_family_member(demo, events):
    patients = [e for e in events if isinstance(e, PatientUpserted)]
    phone, count = collections.Counter(p.phone for p in demo.patients).most_common(1)[0]
    assert count > 1
    matches = patients_by_contact(patients, phone)
    assert len(matches) == count
    assert {m.patient_id for m in matches} == {
        p.patient_id for p in demo.patients if p.phone == phone
    }


def test_panel_and_routing_queries_work_on_demo_data(demo, events):
    appts = [e for e in events if isinstance(e, AppointmentChanged)]
    patient = next(
        p
        for p in demo.patients
        if sum(a.patient_id == p.patient_id for a in demo.appointments) >= 3
    )
    encounters = recent_encounters(appts, demo.now.date(), patient_id=patient.patient_id)
    assert 1 <= len(encounters) <= 5
    nxt = next_upcoming(appts, demo.now, patient_id=patient.patient_id)
    if nxt is not None:
        assert nxt.start >= demo.now and nxt.status == "booked"


def test_fhir_bundles_are_valid_r4(demo):
    bundles = demo.fhir_bundles(("Location", "Practitioner", "Patient", "CareTeam", "Appointment"))
    counts = {
        t: (len(map_bundle(b, "demo", t).events), map_bundle(b, "demo", t).invalid)
        for t, b in bundles.items()
    }
    assert counts == {
        "Location": (3, []),
        "Practitioner": (10, []),
        "Patient": (500, []),
        "CareTeam": (500, []),
        "Appointment": (len(demo.appointments), []),
    }


async def test_load_demo_feeds_every_message_through_mllp(demo):
    published = []

    async def publish(batch):
        published.extend(batch)

    callback = hl7_callback("demo", publish, default_tz="America/New_York")
    async with MLLPServer(callback, port=0) as server:
        report = await load_demo("127.0.0.1", server.port, practice=demo, window=8)
    assert report.sent == len(demo.hl7_messages()) == report.accepted
    assert report.rejected == []
    assert len(published) == report.sent


def test_local_fhir_server_search_filters_and_sorts_by_last_updated():
    def r(i: str, at: str) -> dict:
        return {"resourceType": "Patient", "id": i, "meta": {"lastUpdated": at}}

    items = [
        r("b", "2026-01-02T00:00:00Z"),
        r("a", "2026-01-01T00:00:00Z"),
        r("c", "2026-01-03T00:00:00Z"),
    ]
    assert [x["id"] for x in search(items, None)] == ["a", "b", "c"]
    assert [x["id"] for x in search(items, "gt2026-01-02T00:00:00Z")] == ["c"]
    assert [x["id"] for x in search(items, "ge2026-01-02T00:00:00Z")] == ["b", "c"]


def test_the_tests_unknown_senders_are_never_a_demo_patients_number():
    # A browser test's "stranger" once drew Wei Friedman's number (+19295550123) and its
    # message joined her thread; stranger_number keeps clear of the demo's numbers.
    phones = {p.phone for p in generate_demo().patients}
    for area in ("212", "646", "917", "718", "347", "929"):
        drawn = {stranger_number(area) for _ in range(500)}
        assert not drawn & phones
        assert all(normalize_phone(n) == n for n in drawn)  # numbers ingest and pm-sync accept
