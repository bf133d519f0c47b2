"""The sandbox as ingest's and notifier's SMS senders meet it (tools/sandbox/app.py): ingest's
real SmsSender sends through it, `sms_record` finds the send in its list, its callbacks reach
the StatusCallback URL signed as ingest checks them, in order, on the carrier's own schedule
or on demand; its mail sink keeps alert emails; its JSON lists every send with its provider id
and body. No network: the app over ASGI, callbacks to an httpx MockTransport."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from types import SimpleNamespace
from urllib.parse import parse_qsl

import httpx
import pytest

from switchboard.events import ReplyRequested
from switchboard.ingest.adapters.senders import OutboundItem, SmsSender
from switchboard.ingest.adapters.twilio import signature_valid
from switchboard.ingest.settings import IngestSettings
from switchboard.platform import sms_record
from tools.sandbox import mail
from tools.sandbox.app import Config, Sandbox, build

SID, TOKEN = "ACsandboxtest", "the-run-token"
BASE = "http://sandbox.test"


class Receiver:
    """ingest's status webhook as the sandbox sees it: records each callback's form."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], str | None]] = []
        self.answers: list[int] = []  # answered in turn, then 204

    def __call__(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        self.calls.append((str(request.url), form, request.headers.get("x-twilio-signature")))
        return httpx.Response(self.answers.pop(0) if self.answers else 204)

    def statuses(self) -> list[str]:
        return [form["MessageStatus"] for _, form, _ in self.calls]


async def eventually(check, within=5.0):
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def sandbox():
    receiver = Receiver()
    box = Sandbox(
        Config(account_sid=SID, auth_token=TOKEN, step_s=0.02),
        client=httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
    )
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=build(box)), base_url=BASE)
    yield SimpleNamespace(box=box, api=api, receiver=receiver)
    await api.aclose()
    await box.close()


def reply(body: str = "Tuesday at 10 works.") -> OutboundItem:
    mid = uuid.uuid4()
    now = datetime.now(UTC)
    request = ReplyRequested(
        event_id=mid,
        occurred_at=now,
        practice_id="demo",
        correlation_id=mid,
        conversation_id=uuid.uuid4(),
        actor="u-front",
        message_id=mid,
        channel="sms",
        line="+12125550000",
        to="+15551230000",
        body=body,
        requested_at=now,
    )
    return OutboundItem(
        mid,
        "demo",
        request.conversation_id,
        "sms",
        request.line,
        request.to,
        request,
        attempts=1,
        queued_at=now,
    )


def settings() -> IngestSettings:
    return IngestSettings(
        env="dev",
        sms_api_base_url=BASE,
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        twilio_auth_token=TOKEN,
        http_port=8001,
    )


async def test_ingests_reply_is_delivered_and_called_back_signed_in_order(sandbox):
    api, receiver = sandbox.api, sandbox.receiver
    result = await SmsSender(settings(), api).send(reply())
    assert result.ok and result.provider_message_id
    await eventually(lambda: receiver.statuses() == ["sent", "delivered"])
    for url, form, sig in receiver.calls:
        assert url == "http://127.0.0.1:8001/webhooks/twilio/status/demo"
        assert form["MessageSid"] == result.provider_message_id
        assert signature_valid(TOKEN, url, form, sig)  # ingest's own check
    (row,) = (await api.get("/_sandbox/sends")).json()["sends"]
    assert (row["provider_id"], row["body"], row["status"]) == (
        result.provider_message_id,
        "Tuesday at 10 works.",
        "delivered",
    )
    # read, on demand: called back at once, the answer reported
    moved = await api.post(f"/_sandbox/sms/{row['provider_id']}/status", json={"status": "read"})
    assert moved.json()["callbacks"] == [{"status": "read", "callback": 204}]
    assert receiver.statuses() == ["sent", "delivered", "read"]


async def test_a_recipient_set_to_undelivered_is_called_back_with_the_error_code(sandbox):
    api, receiver = sandbox.api, sandbox.receiver
    outcome = {"recipient": "+15551230000", "status": "undelivered", "error_code": "30006"}
    assert (await api.put("/_sandbox/outcome", json=outcome)).status_code == 200
    result = await SmsSender(settings(), api).send(reply())
    await eventually(lambda: receiver.statuses() == ["sent", "undelivered"])
    assert receiver.calls[-1][1]["ErrorCode"] == "30006"
    # an ending is final: the page's buttons cannot deliver it afterwards
    again = await api.post(
        f"/_sandbox/sms/{result.provider_message_id}/status", json={"status": "delivered"}
    )
    assert again.status_code == 409


async def test_held_at_sent_the_message_waits_for_a_decision(sandbox):
    api, receiver = sandbox.api, sandbox.receiver
    await api.put("/_sandbox/outcome", json={"status": "sent"})
    result = await SmsSender(settings(), api).send(reply())
    await eventually(lambda: receiver.statuses() == ["sent"])
    await asyncio.sleep(0.1)
    assert receiver.statuses() == ["sent"]
    moved = await api.post(
        f"/_sandbox/sms/{result.provider_message_id}/status",
        json={"status": "undelivered", "error_code": "30003"},
    )
    assert moved.status_code == 200 and receiver.calls[-1][1]["ErrorCode"] == "30003"


async def test_a_callback_refused_with_503_is_tried_again(sandbox, monkeypatch):
    api, receiver = sandbox.api, sandbox.receiver
    receiver.answers = [503]  # ingest's database away: it asks to be called again
    monkeypatch.setattr(asyncio, "sleep", _fast(asyncio.sleep))
    await SmsSender(settings(), api).send(reply())
    await eventually(lambda: receiver.statuses() == ["sent", "sent", "delivered"])


def _fast(sleep):
    async def fast(delay, *a, **kw):
        return await sleep(min(delay, 0.02), *a, **kw)

    return fast


async def test_the_record_lookup_finds_a_send_and_the_api_wants_the_accounts_credentials(sandbox):
    api = sandbox.api
    item = reply("Your results are in.")
    result = await SmsSender(settings(), api).send(item)
    wanted = sms_record.Wanted(
        to=item.to, sender=item.line, body="Your results are in.", since=item.queued_at
    )
    found = await sms_record.find_sent(api, BASE, SID, TOKEN, wanted, 5)
    assert found == result.provider_message_id
    other = sms_record.Wanted(to=item.to, sender=item.line, body="other", since=item.queued_at)
    assert await sms_record.find_sent(api, BASE, SID, TOKEN, other, 5) is None
    url = f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert (await api.get(url, auth=(SID, "wrong"))).status_code == 401
    assert (await api.get(url.replace(SID, "ACother"), auth=("ACother", TOKEN))).status_code == 404
    one = await api.get(url.replace(".json", f"/{found}.json"), auth=(SID, TOKEN))
    assert one.json()["sid"] == found


async def test_the_mail_sink_keeps_alert_emails_and_the_list_shows_them(sandbox, unused_tcp_port):
    api, box = sandbox.api, sandbox.box
    server = await mail.serve(box.add_mail, "127.0.0.1", unused_tcp_port)
    try:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "alerts@switchboard.invalid", "lee@demo.test", "SLA"
        m["Message-ID"] = "<a1@switchboard.alerts>"
        m.set_content("A conversation waits for an answer.")

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", unused_tcp_port, timeout=5) as smtp:
                smtp.send_message(m)
                smtp.send_message(m)  # the same alert again: a duplicate the receiver can drop

        await asyncio.to_thread(send)
    finally:
        server.close()
    body = (await api.get("/_sandbox/sends", params={"channel": "email"})).json()
    assert [(s["recipient"], s["subject"], s["provider_id"]) for s in body["sends"]] == [
        ("lee@demo.test", "SLA", "<a1@switchboard.alerts>")
    ] * 2
    assert body["sends"][0]["body"].strip() == "A conversation waits for an answer."
    assert body["duplicates"] == [
        {
            "channel": "email",
            "recipient": "lee@demo.test",
            "key": "<a1@switchboard.alerts>",
            "count": 2,
            "receiver_can_drop": True,
        }
    ]


async def test_the_page_is_served_and_sets_data_as_text(sandbox):
    api = sandbox.api
    page = await api.get("/")
    assert page.status_code == 200 and "/_sandbox/sends" in page.text
    assert "innerHTML" not in page.text  # what was sent is shown as text, never as markup
