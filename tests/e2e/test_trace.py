"""One inbound SMS gives one trace across every service, exported over OTLP (issue 15).

The whole system runs as `make up` runs it, with the standard OTEL_* variables pointing at an
OTLP/HTTP receiver inside this test process."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import defaultdict

import httpx
import pytest
from otlp_receiver import OtlpReceiver, ReceivedSpan
from system_support import running_system, stranger_number
from websockets.sync.client import connect

from switchboard.ingest.adapters.twilio import signature

pytestmark = pytest.mark.e2e

# Marked patient data: none of it may reach a span name or attribute.
SENDER = stranger_number("917")
BODY = "Trace marker Quillon needs his inhaler refilled"


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    receiver = OtlpReceiver().start()
    port_base = int(os.environ.get("SB_TRACE_PORT_BASE", "18600"))
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    try:
        with running_system(
            tmp_path_factory.mktemp("run"), port_base, demo=False, extra_env=otel
        ) as system:
            yield system, receiver
    finally:
        receiver.stop()


def _front_desk_receives_other(system) -> dict[str, str]:
    """Reason routing on and the front desk subscribed to "Other": an SMS (its reason cleared,
    R-OVERWRITE-1) is routed to them, and the notifier alerts them in the app."""
    admin = system.login("admin@demo", "demo-admin")
    r = httpx.patch(
        f"{system.gateway}/api/admin/routing/settings",
        json={"reason_routing": True},
        headers=admin,
    )
    assert r.status_code in (200, 202), r.text
    r = httpx.put(
        f"{system.gateway}/api/admin/routing/subscriptions/u-front-1",
        json={"reasons": ["other"], "locations": [], "providers": [], "inboxes": ["unassigned"]},
        headers=admin,
    )
    assert r.status_code in (200, 202), r.text
    return system.login("front@demo", "demo-front")


def _listen(url: str, seen: list[dict], ready: threading.Event, stop: threading.Event) -> None:
    with connect(url, open_timeout=10) as ws:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message.get("type") == "hello":
                ready.set()
            seen.append(message)


def _ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[ReceivedSpan]:
    chain, current = [], span
    while current.parent_span_id and current.parent_span_id in by_id:
        current = by_id[current.parent_span_id]
        chain.append(current)
    return chain


@pytest.fixture(scope="module")
def delivered(traced):
    """One signed SMS, delivered as far as the front desk's live alert, and the spans of its
    trace. Every test here reads this one message (each may run first: random order)."""
    system, receiver = traced
    front = _front_desk_receives_other(system)
    token = front["Authorization"].removeprefix("Bearer ")
    seen: list[dict] = []
    ready, stop = threading.Event(), threading.Event()
    ws_url = system.gateway.replace("http://", "ws://") + f"/api/live?token={token}"
    listener = threading.Thread(target=_listen, args=(ws_url, seen, ready, stop), daemon=True)
    listener.start()
    assert ready.wait(15), "the live socket did not open"

    url = f"{system.ingest}/webhooks/twilio/sms/demo"
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": SENDER, "To": "+12125550000"}
    params["Body"] = BODY
    r = httpx.post(
        url,
        data=params,
        headers={"X-Twilio-Signature": signature(system.twilio_token, url, params)},
    )
    assert r.status_code == 200

    def alerted() -> bool:
        return any(m.get("type") == "alert" for m in seen)

    deadline = time.monotonic() + 30
    while not alerted() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alerted(), f"no in-app alert reached the front desk: {seen}"

    wanted = {"ingest", "router", "inbox-projection", "notifier", "gateway"}
    trace_spans: list[ReceivedSpan] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        spans = receiver.snapshot()
        webhook = [s for s in spans if s.name == "POST /webhooks/twilio/sms/{practice_id}"]
        if webhook:
            trace_id = webhook[-1].trace_id
            trace_spans = [s for s in spans if s.trace_id == trace_id]
            services = {s.service for s in trace_spans}
            pushes = [s for s in trace_spans if s.name == "gateway live push"]
            if wanted <= services and pushes:
                break
        time.sleep(0.3)
    stop.set()
    # Spans are exported in batches (every 200 ms here) as they end, and a child ends before
    # its parent: a span can have arrived without its parent yet. Let the last batches land
    # (the inbox-projection's second consumer group, the reports, applies the same message).
    if trace_spans:
        time.sleep(2)
        trace_id = trace_spans[0].trace_id
        trace_spans = [s for s in receiver.snapshot() if s.trace_id == trace_id]
    return system, receiver, trace_spans


def test_one_sms_is_one_trace_from_webhook_to_live_push(delivered):
    _, receiver, trace_spans = delivered
    wanted = {"ingest", "router", "inbox-projection", "notifier", "gateway"}
    by_service: dict[str, list[str]] = defaultdict(list)
    for s in trace_spans:
        by_service[s.service].append(s.name)
    assert wanted <= set(by_service), f"services in the trace: {dict(by_service)}"

    by_id = {s.span_id: s for s in trace_spans}
    webhook_span = next(s for s in trace_spans if s.name.startswith("POST /webhooks/twilio/sms"))
    names = {s.name for s in trace_spans}
    assert {
        "publish switchboard.messages",
        "publish switchboard.routing",
        "publish switchboard.notifications",
    } <= names, names
    # The live push of the alert descends from the webhook through each hop, as parents.
    push = [s for s in trace_spans if s.name == "gateway live push"]
    chains = [[a.service for a in _ancestors(p, by_id)] for p in push]
    assert any(
        webhook_span in _ancestors(p, by_id) and {"notifier", "router", "ingest"} <= set(c)
        for p, c in zip(push, chains, strict=True)
    ), chains
    applies = [s for s in trace_spans if s.service == "inbox-projection" and " apply " in s.name]
    assert applies and all(webhook_span in _ancestors(s, by_id) for s in applies)
    # A batch span links to the records it handled (links, not parents).
    batch = [s for s in receiver.snapshot() if s.name.endswith(" process") and s.links]
    assert any((webhook_span.trace_id, a.span_id) in s.links for s in batch for a in trace_spans), (
        "no batch span links to this message's spans"
    )


def test_no_patient_data_in_any_span(delivered):
    _, receiver, _ = delivered
    time.sleep(1.0)  # the last batch of spans
    marks = [
        SENDER,
        SENDER.lstrip("+"),
        SENDER.replace("+", "%2B"),
        BODY,
        "Quillon",
        "inhaler",
    ]
    hits = []
    for s in receiver.snapshot():
        text = json.dumps([s.name, s.attributes], default=str)
        hits += [(s.service, s.name, m) for m in marks if m in text]
    assert receiver.snapshot(), "no spans were exported"
    assert hits == [], hits


def test_the_running_services_expose_lag_and_latency(delivered):
    """What an on-call engineer reads off /metrics after traffic (issue 15): lag per consumer
    and partition, HTTP latency by route template, publish latency, receipt-to-inbox."""
    system, _, _ = delivered
    ports = {"gateway": 0, "ingest": 1, "router": 2, "inbox-projection": 3, "notifier": 4}
    base = int(system.gateway.rsplit(":", 1)[1])
    text = {s: httpx.get(f"http://127.0.0.1:{base + i}/metrics").text for s, i in ports.items()}
    for service in ("router", "inbox-projection", "notifier"):
        assert f'switchboard_consumer_lag{{consumer="{service}"' in text[service], service
        assert "switchboard_consumer_last_poll_timestamp_seconds" in text[service]
    assert 'route="/webhooks/twilio/sms/{practice_id}",status="200"' in text["ingest"]
    assert "switchboard_kafka_publish_seconds_bucket" in text["ingest"]
    assert 'switchboard_end_to_end_seconds_count{channel="sms"}' in text["inbox-projection"]
    assert "switchboard_db_pool_size" in text["router"]
    assert (
        'switchboard_http_requests_total{method="POST",route="/api/auth/login"' in text["gateway"]
    )
    assert SENDER not in "".join(text.values()) and SENDER.lstrip("+") not in "".join(text.values())
