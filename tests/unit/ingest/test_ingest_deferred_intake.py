"""With the database away, the SMS, voicemail and email webhooks still answer 2xx after the
publish, and what they publish is a MessageDeferred (ADR 0008); the look-ups fail fast and
then pause (the breaker). The conversation rule is the one domain/received.py applies."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from ingest_fakes import EMAIL_SECRET, TOKEN, FakePublisher, make_client

from switchboard.events import MessageDeferred, MessageReceived, deterministic_id
from switchboard.ingest.adapters import twilio
from switchboard.ingest.adapters.breaker import Breaker, Open
from switchboard.ingest.adapters.contact_owners import ContactOwners
from switchboard.ingest.domain.inbound import thread_ids
from switchboard.ingest.domain.received import (
    conversation_of,
    message_received,
    sms_conversation_id,
    thread_id,
)
from switchboard.rules.signing import signed_headers

SMS_URL = "http://testserver/webhooks/twilio/sms/demo"
VM_URL = "http://testserver/webhooks/twilio/voicemail/demo"


class DatabaseAway:
    """A sessionmaker whose every session fails as PostgreSQL refusing a connection does."""

    def __init__(self) -> None:
        self.tries = 0

    def __call__(self):
        self.tries += 1
        raise OSError("connection refused")


def client_with_database_away(tmp_path, publisher):
    client = make_client(tmp_path, publisher)
    intake = client.app.state.intake
    del intake.recognized  # the real look-up, not the fakes' stand-in
    away = DatabaseAway()
    intake.sessionmaker = away
    intake.owners = ContactOwners(away)
    return client, away


def form(client, url, data):
    headers = {"X-Twilio-Signature": twilio.signature(TOKEN, url, data)}
    return client.post(url.removeprefix("http://testserver"), data=data, headers=headers)


def sms(sid="SM1", sender="+12125550101"):
    return {"MessageSid": sid, "From": sender, "To": "+12125550000", "Body": "hi"}


def test_sms_with_the_database_away_is_accepted_as_a_deferred_message(tmp_path):
    publisher = FakePublisher()
    client, away = client_with_database_away(tmp_path, publisher)
    r = form(client, SMS_URL, sms())
    assert r.status_code == 200  # was 503: the database was asked before publishing
    [record] = publisher.published
    assert isinstance(record, MessageDeferred)
    message = record.message
    assert message.event_id == deterministic_id("demo", "twilio", "SM1")
    assert message.body == "hi" and message.sender == "+12125550101"
    # Provisional conversation: the per-message one, never the patient's thread.
    assert message.conversation_id == sms_conversation_id(
        "demo", "+12125550000", "+12125550101", "SM1", recognized=False
    )
    assert away.tries == 1


def test_after_a_failure_look_ups_pause_so_no_request_waits_on_the_database(tmp_path):
    publisher = FakePublisher()
    client, away = client_with_database_away(tmp_path, publisher)
    for i in range(5):
        assert form(client, SMS_URL, sms(sid=f"SM{i}")).status_code == 200
    assert away.tries == 1  # the breaker opened after the first failure
    assert all(isinstance(e, MessageDeferred) for e in publisher.published)


def test_voicemail_with_the_database_away_is_deferred(tmp_path):
    publisher = FakePublisher()
    client, _ = client_with_database_away(tmp_path, publisher)
    data = {
        "RecordingSid": "RE1",
        "RecordingUrl": "https://api.example/RE1",
        "From": "+12125550101",
        "To": "+12125550000",
    }
    assert form(client, VM_URL, data).status_code == 200
    [record] = publisher.published
    assert isinstance(record, MessageDeferred) and record.message.channel == "voicemail"


def test_email_with_the_database_away_is_deferred_with_its_threading_headers(tmp_path):
    publisher = FakePublisher()
    client, _ = client_with_database_away(tmp_path, publisher)
    raw = (
        b"From: J <j@home.test>\r\nTo: front@demo.test\r\nSubject: Hi\r\n"
        b"Message-ID: <m2@home.test>\r\nIn-Reply-To: <m1@home.test>\r\n"
        b"References: <m0@home.test> <m1@home.test>\r\n\r\nhello\r\n"
    )
    h = {"content-type": "message/rfc822", **signed_headers(EMAIL_SECRET, int(time.time()), raw)}
    assert client.post("/webhooks/email", content=raw, headers=h).status_code == 200
    [record] = publisher.published
    assert isinstance(record, MessageDeferred)
    t = record.message.email_threading
    assert t is not None and t.message_id == "<m2@home.test>"
    # what the consumer will look for, nearest first, as the webhook would have
    assert thread_ids(t.in_reply_to, t.references) == ("<m1@home.test>", "<m0@home.test>")


def test_a_database_that_answers_is_used_and_nothing_is_deferred(tmp_path):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, recognized=True)
    assert form(client, SMS_URL, sms()).status_code == 200
    [event] = publisher.published
    assert isinstance(event, MessageReceived)
    assert event.conversation_id == thread_id("demo", "+12125550000", "+12125550101")


@pytest.mark.parametrize("recognized", [True, False])
@pytest.mark.parametrize("channel", ["sms", "voicemail"])
def test_the_deferred_rule_is_the_webhooks_rule(channel, recognized):
    now = datetime.now(UTC)
    if channel == "sms":
        inbound = twilio.sms_inbound("demo", sms(), now, 100)
    else:
        params = {
            "RecordingSid": "RE9",
            "RecordingUrl": "https://api.example/RE9",
            "From": "+12125550101",
            "To": "+12125550000",
        }
        inbound = twilio.voicemail_inbound("demo", params, now, 100)
    event = message_received(inbound, recognized=recognized)
    assert conversation_of(event, recognized) == event.conversation_id


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_breaker_opens_on_failure_fails_fast_then_tries_again():
    clock = Clock()
    breaker = Breaker(timeout_s=1, open_s=2, clock=clock)
    calls = 0

    async def failing():
        nonlocal calls
        calls += 1
        raise OSError("refused")

    async def answering():
        nonlocal calls
        calls += 1
        return 7

    with pytest.raises(Open):
        await breaker.call(failing)
    with pytest.raises(Open):
        await breaker.call(answering)  # open: not even tried
    assert calls == 1
    clock.now += 2.5
    assert await breaker.call(answering) == 7  # tried again once open_s passed
    assert not breaker.is_open


async def test_a_look_up_that_hangs_is_cut_short():
    breaker = Breaker(timeout_s=0.05, open_s=5)

    async def hangs():
        await asyncio.Event().wait()

    with pytest.raises(Open):
        await breaker.call(hangs)
    assert breaker.is_open
