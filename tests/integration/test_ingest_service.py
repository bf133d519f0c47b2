"""ingest against the real Kafka and PostgreSQL, in-process with its consumers, dispatcher
and SMTP listener: SMS threads by line and recognition, email threading over real SMTP and
HTTP, replies out (an SMS provider stand-in, a real SMTP server), retries, redeliveries,
delivery status callbacks, secure email and the messenger's patient API."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import smtplib
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from ingest_support import JsonServer, own_database, prepare, running_ingest
from notifier_support import SmtpSink, TopicReader, eventually, free_port
from peer_answers import panel, patient, reasons_offer
from sqlalchemy import select

from switchboard.events import (
    ConversationLinked,
    PatientUpserted,
    ReplyAttachment,
    ReplyRequested,
    Topic,
    deterministic_id,
)
from switchboard.ingest.adapters import storage
from switchboard.ingest.adapters.twilio import signature
from switchboard.ingest.domain.links import secure_token
from switchboard.ingest.domain.received import thread_id
from switchboard.ingest.settings import IngestSettings, Line
from switchboard.rules.signing import signed_headers

pytestmark = pytest.mark.integration

P = f"chan-{uuid.uuid4().hex[:6]}"
MAIN, BILLING, OTHER_LINE = "+12125550000", "+12125550001", "+13105550000"
MAILBOX = f"front@{P}.test"
TOKEN = "it-twilio-token"
SECRET = "it-email-webhook-secret"
JANE = patient(
    "pat-jane", "Jane", "Doe", "1980-02-29", phones=["+12125550101"], emails=["jane@example.com"]
)
# Prefers Spanish in the PM system (X-LANG-5).
ROSA = JANE | {
    "patient_id": "pat-rosa",
    "given_name": "Rosa",
    "phones": [],
    "emails": ["rosa@example.com"],
    "preferred_language": "es",
}


def lines() -> list[Line]:
    return [
        Line(practice_id=P, channel="sms", address=MAIN, label="Front desk"),
        Line(practice_id=P, channel="sms", address=BILLING, label="Billing"),
        Line(practice_id=P, channel="voice", address=MAIN),
        Line(practice_id=P, channel="email", address=MAILBOX),
        Line(practice_id="other-it", channel="sms", address=OTHER_LINE),
    ]


@pytest.fixture(scope="module")
async def world(settings):
    """Stand-ins (SMS provider, pm-sync, router), an SMTP relay, and ingest itself."""
    provider_fail = {"n": 0, "status": 500}
    sids = iter(range(1, 10_000))

    def sms_api(call):
        if provider_fail["n"] > 0:
            provider_fail["n"] -= 1
            return provider_fail["status"], {"message": "try later"}
        return 201, {"sid": f"SMout{next(sids)}"}

    reasons = {"body": reasons_offer()}

    def pm_or_router(call):
        if call.path.endswith("/reasons"):
            return 200, reasons["body"]
        if call.path.endswith("/patients"):
            phone = call.query.get("phone", [""])[0]
            mail = call.query.get("email", [""])[0]
            found = [JANE] if phone in JANE["phones"] or mail in JANE["emails"] else []
            found += [ROSA] if mail in ROSA["emails"] else []
            return 200, {"practice_id": P, "patients": found}
        if call.path.endswith("/patients/pat-jane"):
            return 200, panel(JANE)
        return 404, {}

    sms, peers = await JsonServer(sms_api).start(), await JsonServer(pm_or_router).start()
    with (
        own_database(int(os.environ.get("PG_PORT", "55432"))) as db,
        SmtpSink() as relay,
    ):
        s = IngestSettings(
            **settings.model_dump(
                include={"kafka_bootstrap", "consumer_backoff_initial_s", "consumer_backoff_max_s"}
            ),
            database_url=db,
            topic_prefix=f"ing{uuid.uuid4().hex[:6]}.",
            service_name="ingest-it",
            twilio_auth_token=TOKEN,
            email_webhook_secret=SECRET,
            practices=[P],
            lines=lines(),
            attachment_dir=f"/tmp/sb-ingest-it-{uuid.uuid4().hex[:6]}",
            smtp_listen_port=free_port(),
            smtp_relay_host="127.0.0.1",
            smtp_relay_port=relay.port,
            sms_api_base_url=sms.url,
            sms_account_sid="ACit",
            router_url=peers.url,
            pm_sync_url=peers.url,
            send_backoff_initial_s=0.05,
            send_backoff_max_s=0.2,
            send_max_attempts=3,
            dispatcher_poll_s=0.05,
            max_attachment_bytes=100_000,
            mail_domain="replies.it.test",
        )
        await prepare(s)
        async with (
            running_ingest(s) as (app, client),
            TopicReader(s, Topic.MESSAGES) as messages,
            TopicReader(s, Topic.DELIVERY) as delivery,
            TopicReader(s, Topic.ACTIONS) as actions,
        ):
            yield World(
                s,
                app,
                client,
                messages,
                delivery,
                actions,
                sms,
                peers,
                relay,
                provider_fail,
                reasons,
            )
    await sms.stop()
    await peers.stop()


class World:
    def __init__(
        self, s, app, client, messages, delivery, actions, sms, peers, relay, fail, reasons
    ):
        self.s, self.app, self.client = s, app, client
        self.messages, self.delivery, self.actions = messages, delivery, actions
        self.sms, self.peers, self.relay = sms, peers, relay
        self.provider_fail, self.reasons = fail, reasons

    async def publish(self, *events) -> None:
        await self.app.state.runtime.publisher.publish(list(events))

    async def post_sms(self, sid: str, sender: str, line: str = MAIN, body: str = "hi", **extra):
        url = f"http://testserver/webhooks/twilio/sms/{P}"
        params = {"MessageSid": sid, "From": sender, "To": line, "Body": body, **extra}
        return await self.client.post(
            url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)}
        )

    async def post_form(self, path: str, params: dict[str, str]):
        url = f"http://testserver{path}"
        return await self.client.post(
            url, data=params, headers={"X-Twilio-Signature": signature(TOKEN, url, params)}
        )

    async def post_mail(self, raw: bytes):
        headers = {
            "content-type": "message/rfc822",
            **signed_headers(SECRET, int(time.time()), raw),
        }
        return await self.client.post("/webhooks/email", content=raw, headers=headers)

    def smtp_send(self, raw: bytes, rcpt: str = MAILBOX, sender: str = "jane@example.com"):
        with smtplib.SMTP("127.0.0.1", self.s.smtp_listen_port, timeout=10) as c:
            return c.sendmail(sender, [rcpt], raw)

    async def received(self, event_id: uuid.UUID):
        await eventually(lambda: self.messages.of("MessageReceived", event_id=event_id))
        return self.messages.of("MessageReceived", event_id=event_id)[0]

    async def delivered(self, event_type: str, message_id: uuid.UUID):
        await eventually(lambda: self.delivery.of(event_type, message_id=message_id))
        return self.delivery.of(event_type, message_id=message_id)[0]

    async def known_contacts(self, practice: str, contact: str) -> list[str]:
        c = storage.contacts
        async with self.app.state.runtime.sessionmaker() as db:
            rows = await db.execute(
                select(c.c.patient_id).where(c.c.practice_id == practice, c.c.contact == contact)
            )
            return list(rows.scalars())


def env(**kw: Any) -> dict[str, Any]:
    eid = uuid.uuid4()
    return {
        "event_id": eid,
        "occurred_at": datetime.now(UTC),
        "practice_id": P,
        "correlation_id": eid,
    } | kw


def patient(pid: str, *phones: str, emails=()) -> PatientUpserted:
    return PatientUpserted(
        **env(),
        patient_id=pid,
        phones=phones,
        emails=tuple(emails),
        source_updated_at=datetime.now(UTC),
    )


def reply(conversation_id, channel="sms", line=MAIN, to="+12125550101", **kw) -> ReplyRequested:
    mid = uuid.uuid4()
    return ReplyRequested(
        **env(event_id=mid, correlation_id=mid),
        conversation_id=conversation_id,
        actor="u-front",
        message_id=mid,
        channel=channel,
        line=line,
        to=to,
        body=kw.pop("body", "Your refill is ready."),
        requested_at=datetime.now(UTC),
        **kw,
    )


def mail(
    message_id: str,
    *,
    sender="Jane Doe <jane@example.com>",
    subject="Refill",
    body="Please.",
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    head = [f"From: {sender}", f"To: {MAILBOX}", f"Subject: {subject}", f"Message-ID: {message_id}"]
    if in_reply_to:
        head.append(f"In-Reply-To: {in_reply_to}")
    if references:
        head.append(f"References: {references}")
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


# --- SMS in -------------------------------------------------------------------------------


async def test_sms_threads_by_line_and_an_unknown_number_is_its_own_communication(world):
    await world.publish(
        patient("pat-jane", "+12125550101"),
        patient("pat-kid-1", "+12125550199"),
        patient("pat-kid-2", "+12125550199"),
    )
    await eventually(lambda: _has(world, "+12125550199", 2))
    await eventually(lambda: _has(world, "+12125550101", 1))

    sids = [f"SM{uuid.uuid4().hex}" for _ in range(7)]
    for sid, sender, line in [
        (sids[0], "+12125550101", MAIN),
        (sids[1], "+12125550101", MAIN),
        (sids[2], "+12125550101", BILLING),
        (sids[3], "+12125550177", MAIN),
        (sids[4], "+12125550177", MAIN),
        (sids[5], "+12125550199", MAIN),
        (sids[6], "+12125550199", MAIN),
    ]:
        assert (await world.post_sms(sid, sender, line)).status_code == 200
    e = [await world.received(deterministic_id(P, "twilio", sid)) for sid in sids]
    # covers I-LINE-1: one thread per line, the line's label beside it
    assert e[0].conversation_id == e[1].conversation_id == thread_id(P, MAIN, "+12125550101")
    assert e[2].conversation_id != e[0].conversation_id and e[2].line_label == "Billing"
    # covers I-THREAD-1: no threading for a number that is not exactly one patient's
    assert e[3].conversation_id != e[4].conversation_id
    assert e[5].conversation_id != e[6].conversation_id


async def _has(world, contact: str, n: int) -> bool:
    return len(await world.known_contacts(P, contact)) == n


async def test_a_retried_sms_webhook_is_one_message(world):
    sid = f"SM{uuid.uuid4().hex}"
    assert (await world.post_sms(sid, "+12125550101")).status_code == 200
    assert (await world.post_sms(sid, "+12125550101")).status_code == 200
    eid = deterministic_id(P, "twilio", sid)
    await world.received(eid)
    await asyncio.sleep(0.3)
    copies = world.messages.of("MessageReceived", event_id=eid)
    # Both deliveries carry the same event id: consumers keep the first (processed_events).
    assert len({(c.event_id, c.conversation_id) for c in copies}) == 1


async def test_webhooks_for_a_line_of_no_practice_or_badly_signed_publish_nothing(world):
    before = len(world.messages.events)
    assert (await world.post_sms("SMx", "+12125550101", line=OTHER_LINE)).status_code == 404
    url = f"/webhooks/twilio/sms/{P}"
    bad = await world.client.post(
        url,
        data={"MessageSid": "SMy", "From": "+1", "To": MAIN},
        headers={"X-Twilio-Signature": "x"},
    )
    assert bad.status_code == 403
    await asyncio.sleep(0.3)
    assert len(world.messages.events) == before


# --- email in and out, threading -------------------------------------------------------------


async def test_email_threads_over_smtp_and_http_and_replies_thread_back(world):
    first = f"<{uuid.uuid4().hex}@example.com>"
    assert await asyncio.to_thread(world.smtp_send, mail(first)) == {}
    m1 = await world.received(deterministic_id(P, "email", first))
    conversation = m1.conversation_id
    assert m1.channel == "email" and m1.sender == "jane@example.com" and m1.recipient == MAILBOX
    assert m1.email_threading.message_id == first and m1.provider == "email-smtp"

    # The practice answers: real SMTP out, with threading headers.
    answer = reply(conversation, channel="email", line=MAILBOX, to="jane@example.com")
    await world.publish(answer)
    sent = await world.delivered("ReplySent", answer.message_id)
    await eventually(lambda: len(world.relay.messages) >= 1)
    out = email.message_from_bytes(world.relay.messages[-1].content, policy=email.policy.default)
    own = f"<{answer.message_id}@replies.it.test>"
    assert out["Message-ID"] == own and sent.provider_message_id == own
    assert out["In-Reply-To"] == first and first in out["References"]
    assert out["Subject"] == "Re: Refill" and out["From"] == MAILBOX
    assert out.get_body(("plain",)).get_content().strip() == "Your refill is ready."

    # covers I-THREAD-1: the patient's answer (over HTTP this time) joins the conversation...
    second = f"<{uuid.uuid4().hex}@example.com>"
    r = await world.post_mail(
        mail(second, subject="Re: Refill", in_reply_to=own, references=f"{first} {own}")
    )
    assert r.status_code == 200, r.text
    m2 = await world.received(deterministic_id(P, "email", second))
    assert m2.conversation_id == conversation and m2.provider == "email-http"
    # ...a new thread from the same address does not...
    third = f"<{uuid.uuid4().hex}@example.com>"
    await world.post_mail(mail(third, subject="Another question"))
    assert (
        await world.received(deterministic_id(P, "email", third))
    ).conversation_id != conversation
    # ...and nobody joins someone else's thread by quoting its Message-ID.
    fourth = f"<{uuid.uuid4().hex}@evil.test>"
    await world.post_mail(mail(fourth, sender="mallory@evil.test", in_reply_to=own))
    assert (
        await world.received(deterministic_id(P, "email", fourth))
    ).conversation_id != conversation

    # A mail delivered twice is one message (same event id, same conversation).
    await world.post_mail(mail(first))
    await asyncio.sleep(0.3)
    copies = world.messages.of("MessageReceived", event_id=m1.event_id)
    assert {c.conversation_id for c in copies} == {conversation}

    # A redelivered reply request never sends twice.
    count = len(world.relay.messages)
    copy = answer.model_copy(update={"event_id": uuid.uuid4()})  # a second request, same reply
    await world.publish(answer, copy)
    await asyncio.sleep(1.0)
    assert len(world.relay.messages) == count


async def test_mail_to_a_mailbox_of_no_practice_is_refused(world):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await asyncio.to_thread(world.smtp_send, mail("<z@example.com>"), "nobody@nowhere.test")
    r = await world.post_mail(mail("<z@example.com>").replace(MAILBOX.encode(), b"x@nowhere.test"))
    assert r.status_code == 404


# --- SMS out -------------------------------------------------------------------------------


async def test_sms_reply_retries_with_backoff_then_is_sent_once(world):
    world.provider_fail.update(n=1, status=503)
    before = len(world.sms.calls)
    answer = reply(uuid.uuid4(), body="See you Thursday")
    await world.publish(answer)
    sent = await world.delivered("ReplySent", answer.message_id)
    calls = world.sms.calls[before:]
    assert len(calls) == 2  # one failure, one success
    assert {c.headers["idempotency-key"] for c in calls} == {str(answer.message_id)}
    form = calls[-1].form()
    assert form["From"] == [MAIN] and form["To"] == ["+12125550101"]
    assert form["Body"] == ["See you Thursday"]
    assert form["StatusCallback"][0].endswith(f"/webhooks/twilio/status/{P}")
    assert sent.provider_message_id.startswith("SMout") and sent.line == MAIN

    await world.publish(answer)  # redelivered
    await asyncio.sleep(0.5)
    assert len(world.sms.calls) == before + 2

    # Delivery status callbacks for it.
    status = f"/webhooks/twilio/status/{P}"
    r = await world.post_form(
        status, {"MessageSid": sent.provider_message_id, "MessageStatus": "sent"}
    )
    assert r.status_code == 204
    r = await world.post_form(
        status, {"MessageSid": sent.provider_message_id, "MessageStatus": "delivered"}
    )
    assert r.status_code == 204
    update = await world.delivered("ReplyDeliveryUpdated", answer.message_id)
    assert update.status == "delivered" and update.provider_message_id == sent.provider_message_id


async def test_undelivered_and_refused_replies_are_reported_failed(world):
    world.provider_fail.update(n=1, status=400)
    bad = reply(uuid.uuid4(), to="+10000000000")
    await world.publish(bad)
    failed = await world.delivered("ReplyFailed", bad.message_id)
    assert failed.why == "sms_http_400"

    foreign = reply(uuid.uuid4(), line=OTHER_LINE)  # another practice's number (T-1)
    before = len(world.sms.calls)
    await world.publish(foreign)
    assert (await world.delivered("ReplyFailed", foreign.message_id)).why == "line_not_of_practice"
    assert len(world.sms.calls) == before

    ok = reply(uuid.uuid4())
    await world.publish(ok)
    sent = await world.delivered("ReplySent", ok.message_id)
    r = await world.post_form(
        f"/webhooks/twilio/status/{P}",
        {
            "MessageSid": sent.provider_message_id,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        },
    )
    assert r.status_code == 204
    update = await world.delivered("ReplyDeliveryUpdated", ok.message_id)
    assert update.status == "undelivered" and update.why == "30003"
    assert (await world.delivered("ReplyFailed", ok.message_id)).why == "provider_undelivered_30003"


async def test_mms_reply_sends_a_signed_link_to_the_stored_file(world):
    ref = await world.app.state.store.put(P, b"\x89PNG image", "image/png")
    answer = reply(
        uuid.uuid4(),
        attachments=(ReplyAttachment(ref=ref, filename="x.png", content_type="image/png"),),
    )
    before = len(world.sms.calls)
    await world.publish(answer)
    await world.delivered("ReplySent", answer.message_id)
    [media] = world.sms.calls[before].form()["MediaUrl"]
    parts = urlsplit(media)
    r = await world.client.get(f"{parts.path}?{parts.query}")
    assert r.status_code == 200 and r.content == b"\x89PNG image"
    assert r.headers["content-type"].startswith("image/png")
    q = parse_qs(parts.query)
    forged = await world.client.get(
        "/media", params={"ref": ref, "ct": "text/html", "exp": q["exp"][0], "sig": q["sig"][0]}
    )
    assert forged.status_code == 403


# --- secure email and the messenger ------------------------------------------------------------


async def test_a_secure_emails_notice_is_in_the_patients_language(world):
    # covers X-LANG-5: the PM system says Spanish for the patient at this address
    first = f"<{uuid.uuid4().hex}@example.com>"
    await world.post_mail(mail(first, sender="Rosa Doe <rosa@example.com>", subject="Hola"))
    conversation = (await world.received(deterministic_id(P, "email", first))).conversation_id
    answer = reply(conversation, channel="email", line=MAILBOX, to="rosa@example.com", secure=True)
    count = len(world.relay.messages)
    await world.publish(answer)
    await world.delivered("ReplySent", answer.message_id)
    await eventually(lambda: len(world.relay.messages) > count)
    notice = email.message_from_bytes(world.relay.messages[-1].content, policy=email.policy.default)
    assert notice["Subject"].startswith("Tiene un nuevo mensaje seguro")
    text = notice.get_body(("plain",)).get_content()
    assert "Léalo y responda aquí: " in text and "/secure/" in text
    assert "Your refill is ready." not in text


async def test_secure_email_sends_only_a_notice_and_the_patient_reads_and_answers_on_the_page(
    world,
):
    first = f"<{uuid.uuid4().hex}@example.com>"
    await world.post_mail(mail(first, subject="Lab results?"))
    conversation = (await world.received(deterministic_id(P, "email", first))).conversation_id
    secret_text = "Your potassium is 4.1, all normal."
    answer = reply(
        conversation,
        channel="email",
        line=MAILBOX,
        to="jane@example.com",
        body=secret_text,
        secure=True,
    )
    count = len(world.relay.messages)
    await world.publish(answer)
    await world.delivered("ReplySent", answer.message_id)
    await eventually(lambda: len(world.relay.messages) > count)
    notice = email.message_from_bytes(world.relay.messages[-1].content, policy=email.policy.default)
    text = notice.get_body(("plain",)).get_content()
    assert secret_text not in text and "potassium" not in notice["Subject"]
    assert notice["In-Reply-To"] == first  # still threads in the patient's mail client
    link = next(w for w in text.split() if "/secure/" in w)
    parts = urlsplit(link)
    message_id = uuid.UUID(parts.path.rsplit("/", 1)[1])
    token = parse_qs(parts.query)["t"][0]

    page = f"/patient/{P}"
    sign_in = {"given_name": "Jane", "family_name": "Doe", "secure_message_id": str(message_id)}
    wrong = await world.client.post(
        f"{page}/sessions", json=sign_in | {"birth_date": "1980-03-01", "secure_token": token}
    )
    assert wrong.status_code == 401
    forged = await world.client.post(
        f"{page}/sessions", json=sign_in | {"birth_date": "1980-02-29", "secure_token": "x"}
    )
    assert forged.status_code == 403
    r = await world.client.post(
        f"{page}/sessions", json=sign_in | {"birth_date": "1980-02-29", "secure_token": token}
    )
    assert r.status_code == 201, r.text
    assert r.json()["conversation_id"] == str(conversation) and r.json()["kind"] == "secure"
    auth = {"Authorization": f"Bearer {r.json()['token']}"}

    listed = (await world.client.get(f"{page}/messages", headers=auth)).json()["messages"]
    assert [m["body"] for m in listed] == [secret_text] and listed[0]["from"] == "practice"
    assert (
        await world.client.post(f"{page}/messages/{message_id}/read", headers=auth)
    ).status_code == 204
    await eventually(lambda: world.actions.of("PracticeMessageRead", message_id=message_id))
    receipt = world.actions.of("PracticeMessageRead", message_id=message_id)[0]
    assert receipt.conversation_id == conversation and receipt.actor == "patient:pat-jane"

    r = await world.client.post(
        f"{page}/messages", json={"client_message_id": "c1", "body": "Thank you!"}, headers=auth
    )
    assert r.status_code == 202, r.text
    answer_in = await world.received(uuid.UUID(r.json()["message_id"]))
    assert answer_in.channel == "secure_email" and answer_in.conversation_id == conversation
    assert answer_in.patient_id == "pat-jane" and answer_in.recipient == MAILBOX
    assert (await world.client.get(f"{page}/messages")).status_code == 401


async def test_messenger_identity_reasons_attachments_replies_and_read_receipts(world):
    await world.publish(patient("pat-jane", "+12125550101", emails=["jane@example.com"]))
    page = f"/patient/{P}"
    who = {"given_name": "jane", "family_name": "DOE", "phone": "(212) 555-0101"}
    for _ in range(5):
        r = await world.client.post(f"{page}/sessions", json=who | {"birth_date": "1999-01-01"})
        assert r.status_code == 401
    assert (
        await world.client.post(f"{page}/sessions", json=who | {"birth_date": "1980-02-29"})
    ).status_code == 429
    await world.app.state.attempts.succeeded(f"{P}|phone|+12125550101")
    r = await world.client.post(f"{page}/sessions", json=who | {"birth_date": "1980-02-29"})
    assert r.status_code == 201, r.text
    body = r.json()
    # The messenger thread is the patient's thread on the main line: texts and messenger
    # messages are one conversation (R-OVERWRITE-1 clears what the messenger picked).
    assert body["conversation_id"] == str(thread_id(P, MAIN, "+12125550101"))
    auth = {"Authorization": f"Bearer {body['token']}"}
    conversation = uuid.UUID(body["conversation_id"])

    # covers R-REASON-2: reasons offered only when the router shows the picker
    world.reasons["body"] = reasons_offer(
        True,
        "new_conversation",
        [
            {"code": "prescriptions_refills", "label": "Prescriptions / Refills"},
            {"code": "other", "label": "Other"},
        ],
    )
    offered = (await world.client.get(f"{page}/reasons", headers=auth)).json()
    assert offered["show_picker"] and [x["code"] for x in offered["reasons"]] == [
        "prescriptions_refills",
        "other",
    ]
    msg = {"client_message_id": f"m-{uuid.uuid4().hex}", "body": "Refill please"}
    assert (await world.client.post(f"{page}/messages", json=msg, headers=auth)).status_code == 422
    bad = msg | {"reason": "billing"}
    assert (await world.client.post(f"{page}/messages", json=bad, headers=auth)).status_code == 422

    up = await world.client.post(
        f"{page}/attachments",
        content=b"%PDF-1.4 insurance card",
        params={"filename": "card.pdf"},
        headers=auth | {"content-type": "application/pdf"},
    )
    assert up.status_code == 201
    big = await world.client.post(f"{page}/attachments", content=b"x" * 100_001, headers=auth)
    assert big.status_code == 413
    good = msg | {"reason": "prescriptions_refills", "attachment_ids": [up.json()["attachment_id"]]}
    r = await world.client.post(f"{page}/messages", json=good, headers=auth)
    assert r.status_code == 202, r.text
    sent = await world.received(uuid.UUID(r.json()["message_id"]))
    assert sent.channel == "web_chat" and sent.selected_reason == "prescriptions_refills"
    assert sent.patient_id == "pat-jane" and sent.conversation_id == conversation
    assert sent.sender == "+12125550101" and sent.recipient == MAIN
    [att] = sent.attachments
    assert (
        att.filename == "card.pdf"
        and await world.app.state.store.get(att.ref) == b"%PDF-1.4 insurance card"
    )
    again = await world.client.post(f"{page}/messages", json=good, headers=auth)
    assert again.json()["message_id"] == r.json()["message_id"]  # a retried send is one message

    # covers R-REASON-3: not offered -> a stale pick from the page is dropped
    world.reasons["body"] = reasons_offer(
        False, "within_one_hour", current_reason="prescriptions_refills"
    )
    assert (await world.client.get(f"{page}/reasons", headers=auth)).json()["reasons"] == []
    later = {
        "client_message_id": f"m-{uuid.uuid4().hex}",
        "body": "and one more",
        "reason": "billing",
    }
    r = await world.client.post(f"{page}/messages", json=later, headers=auth)
    assert (await world.received(uuid.UUID(r.json()["message_id"]))).selected_reason is None

    # The practice answers in the messenger; the patient reads it: a read receipt.
    answer = reply(
        conversation, channel="web_chat", line=MAIN, to="+12125550101", body="Done, at CVS."
    )
    await world.publish(answer)
    await world.delivered("ReplySent", answer.message_id)
    listed = (await world.client.get(f"{page}/messages", headers=auth)).json()["messages"]
    assert [m["from"] for m in listed] == ["patient", "patient", "practice"]
    assert listed[0]["attachments"][0]["filename"] == "card.pdf"
    dl = await world.client.get(f"{page}/{listed[0]['attachments'][0]['url']}", headers=auth)
    assert dl.content == b"%PDF-1.4 insurance card"
    assert listed[2]["read_at"] is None
    for _ in range(2):
        r = await world.client.post(f"{page}/messages/{answer.message_id}/read", headers=auth)
        assert r.status_code == 204
    await eventually(lambda: world.actions.of("PracticeMessageRead", message_id=answer.message_id))
    await asyncio.sleep(0.3)
    assert (
        len(
            {
                e.event_id
                for e in world.actions.of("PracticeMessageRead", message_id=answer.message_id)
            }
        )
        == 1
    )
    listed = (await world.client.get(f"{page}/messages", headers=auth)).json()["messages"]
    assert listed[2]["read_at"] is not None


async def test_a_conversation_staff_linked_lets_its_patient_open_a_secure_message(world):
    """An address in no patient's record: staff linked the conversation to Jane, so she can
    verify on the secure page with her name and date of birth."""
    first = f"<{uuid.uuid4().hex}@example.com>"
    await world.post_mail(mail(first, sender="j.doe.work@example.org"))
    conversation = (await world.received(deterministic_id(P, "email", first))).conversation_id
    await world.publish(
        ConversationLinked(
            **env(), conversation_id=conversation, actor="u-front", patient_id="pat-jane"
        )
    )
    answer = reply(
        conversation, channel="email", line=MAILBOX, to="j.doe.work@example.org", secure=True
    )
    await asyncio.sleep(0.5)  # the link is applied before the reply (same partition, in order)
    await world.publish(answer)
    await world.delivered("ReplySent", answer.message_id)
    r = await world.client.post(
        f"/patient/{P}/sessions",
        json={
            "given_name": "Jane",
            "family_name": "Doe",
            "birth_date": date(1980, 2, 29).isoformat(),
            "secure_message_id": str(answer.message_id),
            "secure_token": secure_token(world.s, P, answer.message_id),
        },
    )
    assert r.status_code == 201, r.text


async def test_send_and_close_closes_once_sent_and_an_undelivered_reply_reopens(world):
    # covers I-DELIV-1, I-DELIV-2, I-AUDIT-1
    closing, kept = reply(uuid.uuid4()), reply(uuid.uuid4(), keep_open=True)
    await world.publish(closing, kept)
    sent = await world.delivered("ReplySent", closing.message_id)
    await world.delivered("ReplySent", kept.message_id)

    def changes(r: ReplyRequested) -> list[Any]:
        return world.actions.of("ConversationStatusChanged", conversation_id=r.conversation_id)

    await eventually(lambda: changes(closing))
    (close,) = changes(closing)
    # closed by the staff member who asked, because the channel accepted the reply
    assert close.status == "closed" and close.actor == closing.actor
    assert close.causation_id == sent.event_id and close.occurred_at == sent.sent_at
    # the carrier then says it never arrived: the conversation opens again, by the system
    r = await world.post_form(
        f"/webhooks/twilio/status/{P}",
        {
            "MessageSid": sent.provider_message_id,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
        },
    )
    assert r.status_code == 204
    failed = await world.delivered("ReplyFailed", closing.message_id)
    await eventually(lambda: len(changes(closing)) == 2)
    reopen = changes(closing)[1]
    assert reopen.status == "open" and reopen.actor == "system"
    assert reopen.causation_id == failed.event_id
    await asyncio.sleep(0.3)
    assert changes(kept) == []  # "Send and keep Open": nothing to change
