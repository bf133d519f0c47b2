"""An SMS posted to the webhook is listed by the gateway: separate processes over Kafka."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from system_support import stranger_number

from switchboard.ingest.adapters.twilio import signature

pytestmark = pytest.mark.e2e


def post_sms(
    system,
    sid: str,
    sender: str,
    body: str,
    line: str = "+12125550000",
    sig: str | None = None,
    practice="demo",
):
    url = f"{system.ingest}/webhooks/twilio/sms/{practice}"
    params = {"MessageSid": sid, "From": sender, "To": line, "Body": body}
    headers = {
        "X-Twilio-Signature": sig
        if sig is not None
        else signature(system.twilio_token, url, params)
    }
    return httpx.post(url, data=params, headers=headers)


def wait_for(fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def unassigned(system, headers):
    r = httpx.get(f"{system.gateway}/api/inboxes/unassigned", headers=headers)
    r.raise_for_status()
    return r.json()["items"]


def test_sms_appears_in_unassigned_with_its_message(system):
    admin = system.login("admin@demo", "demo-admin")
    sender = stranger_number("212")
    assert post_sms(system, f"SM{uuid.uuid4().hex}", sender, "Need a refill").status_code == 200
    conv = wait_for(
        lambda: next((c for c in unassigned(system, admin) if c["sender"] == sender), None)
    )
    assert conv["reason"] == "other" and conv["status"] == "open"  # covers R-SUB-2
    assert conv["inboxes"] == ["unassigned"]
    detail = httpx.get(
        f"{system.gateway}/api/conversations/{conv['conversation_id']}", headers=admin
    ).json()
    assert [m["body"] for m in detail["messages"]] == ["Need a refill"]
    rules = [step["rule"] for step in detail["explanation"]]
    assert "R-SUB-2" in rules and "R-SUB-1" in rules  # covers R-EXPLAIN-1


def test_retried_webhook_is_one_message(system):
    admin = system.login("admin@demo", "demo-admin")
    sender, sid = stranger_number("646"), f"SM{uuid.uuid4().hex}"
    assert post_sms(system, sid, sender, "once").status_code == 200
    assert post_sms(system, sid, sender, "once").status_code == 200
    conv = wait_for(
        lambda: next((c for c in unassigned(system, admin) if c["sender"] == sender), None)
    )
    time.sleep(1.0)  # give a duplicate time to arrive, were it to be applied
    detail = httpx.get(
        f"{system.gateway}/api/conversations/{conv['conversation_id']}", headers=admin
    ).json()
    assert len(detail["messages"]) == 1


def test_bad_signature_is_refused_and_never_listed(system):
    admin = system.login("admin@demo", "demo-admin")
    sender = stranger_number("917")
    r = post_sms(system, f"SM{uuid.uuid4().hex}", sender, "forged", sig="Zm9yZ2Vk")
    assert r.status_code == 403
    time.sleep(1.5)
    assert all(c["sender"] != sender for c in unassigned(system, admin))


def test_other_practice_cannot_see_or_learn_of_the_conversation(system):  # covers T-1
    admin = system.login("admin@demo", "demo-admin")
    other = system.login("admin@other", "other-admin")
    sender = stranger_number("347")
    post_sms(system, f"SM{uuid.uuid4().hex}", sender, "private")
    conv = wait_for(
        lambda: next((c for c in unassigned(system, admin) if c["sender"] == sender), None)
    )
    assert all(c["sender"] != sender for c in unassigned(system, other))
    r = httpx.get(f"{system.gateway}/api/conversations/{conv['conversation_id']}", headers=other)
    missing = httpx.get(f"{system.gateway}/api/conversations/{uuid.uuid4()}", headers=other)
    assert r.status_code == missing.status_code == 404
    assert r.json() == missing.json()


def test_unauthenticated_requests_are_refused(system):
    assert httpx.get(f"{system.gateway}/api/inboxes/unassigned").status_code == 401
    bad = httpx.post(
        f"{system.gateway}/api/auth/login", json={"username": "admin@demo", "password": "nope"}
    )
    assert bad.status_code == 401


def test_every_service_reports_ready_and_metrics(system):
    base = int(system.gateway.rsplit(":", 1)[1])
    names = ["gateway", "ingest", "router", "inbox-projection", "notifier", "pm-sync"]
    for offset, name in enumerate(names):
        port = base + offset
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready", name
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "process_cpu_seconds_total" in metrics, name
        if name in ("router", "inbox-projection"):
            assert (
                f'switchboard_consumer_events_total{{consumer="{name}",outcome="applied"}}'
                in metrics
            )
