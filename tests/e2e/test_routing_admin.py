"""Routing administration through the gateway, applied by the router, used by live routing:
the whole system as `make up` runs it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from system_support import stranger_number
from test_first_message import post_sms, wait_for

from switchboard.events import (
    AppointmentChanged,
    LocationUpserted,
    PatientUpserted,
    deterministic_id,
)
from switchboard.platform.kafka import Publisher, make_producer
from switchboard.platform.settings import ServiceSettings

pytestmark = pytest.mark.e2e

LOCATION = f"loc-e2e-{uuid.uuid4().hex[:6]}"
MA = "u-ma-manhattan-1"


def publish_pm(system, *events) -> None:
    """Stand-in for the PM system: the events pm-sync would publish."""

    async def send() -> None:
        settings = ServiceSettings(
            service_name="e2e-pm", topic_prefix=system.topic_prefix, kafka_bootstrap=system.kafka
        )
        producer = make_producer(settings)
        await producer.start()
        try:
            await Publisher(producer, settings).publish(events)
        finally:
            await producer.stop()

    asyncio.run(send())


def pm_events(phone: str):
    now = datetime.now(UTC)

    def ids(*parts: str):
        eid = deterministic_id("e2e-routing", *parts)
        return {"event_id": eid, "correlation_id": eid, "practice_id": "demo", "occurred_at": now}

    return (
        LocationUpserted(location_id=LOCATION, name="E2E Clinic", **ids("loc", LOCATION)),
        PatientUpserted(
            patient_id=f"pat-{phone}", phones=(phone,), source_updated_at=now, **ids("pat", phone)
        ),
        AppointmentChanged(
            appointment_id=f"appt-{phone}",
            patient_id=f"pat-{phone}",
            change="booked",
            status="booked",
            start=now + timedelta(days=2),
            location_id=LOCATION,
            source_updated_at=now,
            **ids("appt", phone),
        ),
    )


def test_only_practice_admins_change_routing(system):
    # covers T-2
    staff = system.login("front@demo", "demo-front")
    r = httpx.patch(
        f"{system.gateway}/api/admin/routing/settings", json={"reason_routing": True}, headers=staff
    )
    assert r.status_code == 403
    assert httpx.get(f"{system.gateway}/api/admin/routing", headers=staff).status_code == 403
    r = httpx.put(
        f"{system.gateway}/api/admin/routing/subscriptions/u-billing-1",
        json={"reasons": ["billing"]},
        headers=staff,
    )
    assert r.status_code == 403  # staff change only their own subscriptions (R-SUB-3)
    anon = httpx.get(f"{system.gateway}/api/admin/routing")
    assert anon.status_code == 401


def test_bad_admin_requests_name_the_problem_and_change_nothing(system):
    admin = system.login("admin@demo", "demo-admin")
    before = httpx.get(f"{system.gateway}/api/admin/routing", headers=admin).json()
    cases = [
        ("u-nobody", {"reasons": ["billing"]}, "unknown staff member 'u-nobody'"),
        (MA, {"reasons": ["refills-typo"]}, "unknown reason 'refills-typo'"),
        (MA, {"locations": ["loc-atlantis"]}, "unknown location 'loc-atlantis'"),
        (MA, {"inboxes": ["everything"]}, "unknown inbox 'everything'"),
        ("u-other-admin", {"reasons": ["billing"]}, "unknown staff member"),  # T-1
    ]
    for staff_id, body, problem in cases:
        r = httpx.put(
            f"{system.gateway}/api/admin/routing/subscriptions/{staff_id}", json=body, headers=admin
        )
        assert r.status_code == 422, (staff_id, body, r.text)
        assert problem in r.json()["detail"]
    r = httpx.put(
        f"{system.gateway}/api/admin/routing/voicemail-extensions/3",
        json={"target": "no-such-reason"},
        headers=admin,
    )
    assert r.status_code == 422 and "unknown reason" in r.json()["detail"]
    after = httpx.get(f"{system.gateway}/api/admin/routing", headers=admin).json()
    assert after["subscriptions"] == before["subscriptions"]
    assert after["version"] == before["version"]


@pytest.fixture
def routing_put_back(system):
    """The system is shared by every e2e module, run in any order: the practice's routing
    settings and the MA's subscription go back to what they were after the test."""
    gw, admin = system.gateway, system.login("admin@demo", "demo-admin")
    before = httpx.get(f"{gw}/api/admin/routing", headers=admin).json()
    yield
    flags = {k: before[k] for k in ("reason_routing", "location_routing", "provider_routing")}
    r = httpx.patch(f"{gw}/api/admin/routing/settings", json=flags, headers=admin)
    assert r.status_code in (200, 202), r.text
    mine = next((s for s in before["subscriptions"] if s["staff_id"] == MA), {})
    body = {k: mine.get(k, []) for k in ("reasons", "locations", "providers", "inboxes")}
    r = httpx.put(f"{gw}/api/admin/routing/subscriptions/{MA}", json=body, headers=admin)
    assert r.status_code in (200, 202), r.text


def test_admin_routing_changes_route_the_next_message_and_are_explained(system, routing_put_back):
    # covers R-REASON-1, R-SUB-1, R-LOC-1, X-COVERAGE-1, X-EXPLAIN-1, X-ASOF-1
    phone = stranger_number("646")
    publish_pm(system, *pm_events(phone))
    admin = system.login("admin@demo", "demo-admin")
    gw = system.gateway

    wait_for(
        lambda: (
            LOCATION
            in {
                x["id"]
                for x in httpx.get(f"{gw}/api/admin/routing", headers=admin).json()["locations"]
            }
        )
    )
    r = httpx.patch(
        f"{gw}/api/admin/routing/settings",
        json={"reason_routing": True, "location_routing": True},
        headers=admin,
    )
    assert r.status_code == 200 and r.json()["applied"] is True
    r = httpx.put(
        f"{gw}/api/admin/routing/subscriptions/{MA}",
        json={"reasons": ["prescriptions_refills", "other"], "locations": [LOCATION]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    state = httpx.get(f"{gw}/api/admin/routing", headers=admin).json()
    assert state["reason_routing"] and state["location_routing"]
    mine = next(s for s in state["subscriptions"] if s["staff_id"] == MA)
    assert mine["locations"] == [LOCATION]

    # Coverage: billing at the new clinic reaches nobody once it is offered.
    gaps = httpx.get(f"{gw}/api/admin/routing/coverage", headers=admin).json()["gaps"]
    assert {"reason": "other", "location": LOCATION, "provider": None} not in gaps

    # Platform operators add a reason; practices cannot reword the defaults.
    operator = system.login("operator@switchboard", "demo-operator")
    code = f"covid_{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        f"{gw}/api/platform/practices/demo/reasons",
        json={"code": code, "label": "COVID testing"},
        headers=operator,
    )
    assert r.status_code == 200, r.text
    again = httpx.post(
        f"{gw}/api/platform/practices/demo/reasons",
        json={"code": "billing", "label": "Money"},
        headers=operator,
    )
    assert again.status_code == 409
    assert (
        httpx.post(
            f"{gw}/api/platform/practices/demo/reasons",
            json={"code": "x", "label": "X"},
            headers=admin,
        ).status_code
        == 403
    )

    # An SMS from the patient: location from the appointment, Other (cleared) -> the MA.
    assert post_sms(system, f"SM{uuid.uuid4().hex}", phone, "Question").status_code == 200
    conv_id = deterministic_id("demo", "sms", "+12125550000", phone)

    def routed():
        r = httpx.get(
            f"{gw}/api/conversations/{conv_id}/routing",
            params={"staff_id": "u-billing-1"},
            headers=admin,
        )
        return r.json() if r.status_code == 200 else None

    body = wait_for(routed)
    decision = body["decisions"][-1]["decision"]
    assert decision["location_id"] == LOCATION and decision["recipients"] == [MA]
    staff = body["decisions"][-1]["staff"]
    assert staff["received"] is False and "not subscribed to anything" in staff["summary"]

    # Other practices learn nothing about it (T-1).
    other = system.login("admin@other", "other-admin")
    assert httpx.get(f"{gw}/api/conversations/{conv_id}/routing", headers=other).status_code == 404

    # History: before the change the MA was not subscribed to the clinic (X-ASOF-1).
    history = httpx.get(
        f"{gw}/api/admin/routing/history", params={"staff_id": MA}, headers=admin
    ).json()
    assert history["changes"][-1]["actor"] == "u-admin"
    first = history["changes"][0]["occurred_at"]
    earlier = (datetime.fromisoformat(first) - timedelta(seconds=1)).isoformat()
    then = httpx.get(
        f"{gw}/api/admin/routing/history", params={"staff_id": MA, "at": earlier}, headers=admin
    ).json()
    assert then["subscription"] is None
