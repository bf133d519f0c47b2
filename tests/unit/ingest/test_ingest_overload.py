"""Overload answers quickly: past SWITCHBOARD_INGEST_MAX_IN_FLIGHT requests at once, the
provider-facing doors answer 429 with Retry-After at once (SMTP 451); probes and metrics are
never refused; below the limit everything is served."""

from __future__ import annotations

import asyncio

import httpx
from aiosmtpd.smtp import Envelope
from ingest_fakes import TOKEN, FakePublisher, make_client
from prometheus_client import REGISTRY

from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.entrypoints.overload import Gate, door_of
from switchboard.ingest.entrypoints.smtp import MailHandler

URL = "http://testserver/webhooks/twilio/sms/demo"


class HeldPublisher(FakePublisher):
    """Kafka that acknowledges only when released: requests stay in flight meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.both_waiting = asyncio.Event()
        self.waiting = 0

    async def publish(self, events, timeout_s=None):
        self.waiting += 1
        if self.waiting == 2:
            self.both_waiting.set()
        await self.release.wait()
        await super().publish(events, timeout_s)


def shed(door: str) -> float:
    return REGISTRY.get_sample_value("switchboard_ingest_shed_total", {"door": door}) or 0.0


def sms(sid: str) -> dict[str, str]:
    return {"MessageSid": sid, "From": "+12125550101", "To": "+12125550000", "Body": "hi"}


async def post(client: httpx.AsyncClient, sid: str) -> httpx.Response:
    data = sms(sid)
    return await client.post(
        "/webhooks/twilio/sms/demo",
        data=data,
        headers={"X-Twilio-Signature": signature(TOKEN, URL, data)},
    )


async def test_past_the_limit_webhooks_get_429_with_retry_after_and_probes_still_answer(tmp_path):
    publisher = HeldPublisher()
    app = make_client(tmp_path, publisher, ingest_max_in_flight=2, ingest_retry_after_s=3).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        held = [asyncio.create_task(post(client, f"SM{i}")) for i in range(2)]
        await publisher.both_waiting.wait()  # both inside, waiting for Kafka
        before = shed("webhook")
        over = await post(client, "SM-over")
        assert over.status_code == 429
        assert over.headers["retry-after"] == "3"
        assert shed("webhook") == before + 1
        # The patient page is a limited door too; metrics (and probes) are not.
        assert (await client.get("/patient/demo/practice")).status_code == 429
        assert (await client.get("/metrics")).status_code == 200
        publisher.release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        # Below the limit again: served.
        assert (await post(client, "SM-after")).status_code == 200
    assert len(publisher.published) == 3  # the refused one was never published


async def test_below_the_limit_every_request_is_served(tmp_path):
    publisher = FakePublisher()
    app = make_client(tmp_path, publisher, ingest_max_in_flight=8).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = await asyncio.gather(*(post(client, f"SM{i}") for i in range(8)))
    assert [r.status_code for r in answers] == [200] * 8
    assert app.state.gate.in_flight == 0


async def test_smtp_past_the_limit_answers_451_so_the_sender_retries():
    class Intake:
        directory = None

        async def email(self, raw, rcpts, via):
            raise AssertionError("not reached when over the limit")

    gate = Gate(1)
    assert gate.enter()  # one message already in flight
    before = shed("smtp")
    handler = MailHandler(Intake(), gate)  # type: ignore[arg-type]
    envelope = Envelope()
    envelope.content = b"From: a@b.test\r\n\r\nhi\r\n"
    answer = await handler.handle_DATA(None, None, envelope)  # type: ignore[arg-type]
    assert answer.startswith("451 ")
    assert shed("smtp") == before + 1
    assert gate.in_flight == 1


def test_only_the_provider_facing_doors_are_limited():
    assert door_of("/webhooks/twilio/sms/demo") == "webhook"
    assert door_of("/webhooks/email") == "webhook"
    assert door_of("/patient/demo/messages") == "patient_page"
    for path in ("/healthz", "/readyz", "/metrics", "/internal/practices/demo/lines"):
        assert door_of(path) is None


def test_gate_counts_in_and_out_and_zero_is_unlimited():
    gate = Gate(2)
    assert gate.enter() and gate.enter() and not gate.enter()
    gate.leave()
    assert gate.enter()
    unlimited = Gate(0)
    assert all(unlimited.enter() for _ in range(1000))
