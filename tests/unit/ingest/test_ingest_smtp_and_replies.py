"""The SMTP listener's answers (a real aiosmtpd server, mail sent with smtplib), the signed
email webhook, and how replies are classified and refused, without Kafka or PostgreSQL."""

import asyncio
import smtplib
import socket
import time
import uuid
from datetime import UTC, datetime

import pytest
from ingest_fakes import EMAIL_SECRET, LINES, FakePublisher, make_client, settings

from switchboard.events import ReplyAttachment, ReplyRequested
from switchboard.ingest.adapters import queries
from switchboard.ingest.adapters.attachments import FilesystemStore
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.entrypoints.handlers import outbound_kind, refusal
from switchboard.ingest.entrypoints.smtp import SmtpListener
from switchboard.ingest.intake import Intake
from switchboard.rules.signing import signed_headers


class FakeSession:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def begin(self):
        return self


@pytest.fixture
def no_database(monkeypatch):
    async def conversation(session, practice_id, message_id, thread_ids, party):
        return uuid.uuid5(uuid.NAMESPACE_URL, practice_id + message_id)

    async def record(session, **kw):
        return None

    monkeypatch.setattr(queries, "email_conversation", conversation)
    monkeypatch.setattr(queries, "record_email", record)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MAIL = (
    b"From: Jane <jane@example.com>\r\nTo: front@demo.test\r\nSubject: refill\r\n"
    b"Message-ID: <m1@example.com>\r\n\r\nPlease refill.\r\n"
)


async def listener(tmp_path, publisher, **over):
    s = settings(tmp_path, smtp_listen_port=free_port(), **over)
    intake = Intake(
        s, Directory(LINES), FilesystemStore(tmp_path), lambda: FakeSession(), publisher, None
    )
    smtp = SmtpListener(s, intake)
    await smtp.start()
    return s, smtp


def send(port, rcpts, data):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        return c.sendmail("jane@example.com", rcpts, data)


async def test_mail_to_a_practice_mailbox_is_accepted_after_kafka_acked(tmp_path, no_database):
    publisher = FakePublisher()
    s, smtp = await listener(tmp_path, publisher)
    try:
        refused = await asyncio.to_thread(send, s.smtp_listen_port, ["front@demo.test"], MAIL)
    finally:
        await smtp.stop()
    assert refused == {}
    [e] = publisher.published
    assert e.channel == "email" and e.practice_id == "demo" and e.body == "Please refill."
    assert e.email_threading.message_id == "<m1@example.com>"
    assert e.provider == "email-smtp"


async def test_unknown_mailbox_is_550_and_nothing_published(tmp_path, no_database):
    publisher = FakePublisher()
    s, smtp = await listener(tmp_path, publisher)
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
            await asyncio.to_thread(send, s.smtp_listen_port, ["nobody@demo.test"], MAIL)
    finally:
        await smtp.stop()
    assert err.value.recipients["nobody@demo.test"][0] == 550
    assert publisher.published == []


async def test_kafka_unavailable_is_a_temporary_failure_so_the_sender_retries(
    tmp_path, no_database
):
    publisher = FakePublisher(fail=True)
    s, smtp = await listener(tmp_path, publisher)
    try:
        with pytest.raises(smtplib.SMTPDataError) as err:
            await asyncio.to_thread(send, s.smtp_listen_port, ["front@demo.test"], MAIL)
    finally:
        await smtp.stop()
    assert err.value.smtp_code == 451


async def test_malformed_and_oversized_mail_are_refused_for_good(tmp_path, no_database):
    publisher = FakePublisher()
    s, smtp = await listener(tmp_path, publisher, max_email_bytes=2000)
    try:
        with pytest.raises(smtplib.SMTPDataError) as bad:
            await asyncio.to_thread(
                send, s.smtp_listen_port, ["front@demo.test"], b"To: front@demo.test\r\n\r\nx\r\n"
            )
        with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as big:
            await asyncio.to_thread(
                send, s.smtp_listen_port, ["front@demo.test"], MAIL + b"x" * 5000
            )
    finally:
        await smtp.stop()
    assert bad.value.smtp_code == 550 and b"From header" in bad.value.smtp_error
    assert big.value.smtp_code == 552
    assert publisher.published == []


def post_mail(client, data, headers=None, ctype="message/rfc822"):
    h = {"content-type": ctype} | (
        headers if headers is not None else signed_headers(EMAIL_SECRET, int(time.time()), data)
    )
    return client.post("/webhooks/email", content=data, headers=h)


def test_email_webhook_checks_type_signature_size_and_mailbox(tmp_path, no_database):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher, max_email_bytes=3000)
    client.app.state.intake.sessionmaker = lambda: FakeSession()
    assert post_mail(client, MAIL, ctype="text/plain").status_code == 415
    assert post_mail(client, MAIL, headers={}).status_code == 403
    stale = signed_headers(EMAIL_SECRET, 1, MAIL)
    assert post_mail(client, MAIL, headers=stale).status_code == 403
    assert post_mail(client, MAIL + b"x" * 3000).status_code == 413
    assert post_mail(client, MAIL.replace(b"front@demo", b"nobody@demo")).status_code == 404
    r = post_mail(client, b"From: nobody\r\nTo: front@demo.test\r\n\r\nx")
    assert r.status_code == 422 and "From header" in r.json()["detail"]
    assert publisher.published == []
    r = post_mail(client, MAIL)
    assert r.status_code == 200, r.text
    [e] = publisher.published
    assert r.json()["accepted"][0]["practice_id"] == "demo" and e.provider == "email-http"


def test_mail_to_two_practices_is_one_message_for_each(tmp_path, no_database):
    publisher = FakePublisher()
    client = make_client(tmp_path, publisher)
    client.app.state.intake.sessionmaker = lambda: FakeSession()
    data = MAIL.replace(b"To: front@demo.test", b"To: front@demo.test, front@other.test")
    assert post_mail(client, data).status_code == 200
    assert sorted(e.practice_id for e in publisher.published) == ["demo", "other"]


def reply(**over) -> ReplyRequested:
    mid = uuid.uuid4()
    fields = {
        "event_id": mid,
        "occurred_at": datetime.now(UTC),
        "practice_id": "demo",
        "correlation_id": mid,
        "conversation_id": uuid.uuid4(),
        "actor": "u-front",
        "message_id": mid,
        "channel": "sms",
        "line": "+12125550000",
        "to": "+12125550101",
        "body": "hello",
        "requested_at": datetime.now(UTC),
    }
    return ReplyRequested(**(fields | over))


def test_replies_go_out_on_their_channel():
    assert outbound_kind(reply()) == "sms"
    assert outbound_kind(reply(channel="voicemail")) == "sms"
    assert outbound_kind(reply(channel="email")) == "email"
    assert outbound_kind(reply(channel="email", secure=True)) == "secure_notice"
    assert outbound_kind(reply(channel="secure_email")) == "secure_notice"
    assert outbound_kind(reply(channel="web_chat")) == "portal"


def test_a_reply_never_leaves_from_another_practices_line_or_with_its_files():
    d = Directory(LINES)
    assert refusal(reply(), d) is None
    assert refusal(reply(line="+13105550000"), d) == "line_not_of_practice"  # T-1
    assert refusal(reply(channel="email", line="front@demo.test", to="a@b.test"), d) is None
    assert (
        refusal(reply(channel="email", line="front@other.test", to="a@b.test"), d)
        == "line_not_of_practice"
    )
    foreign = (ReplyAttachment(ref="store:other/ab/abc"),)
    assert refusal(reply(attachments=foreign), d) == "attachment_of_another_practice"
    local = (ReplyAttachment(ref="file:///etc/passwd"),)
    assert refusal(reply(attachments=local), d) == "attachment_ref_not_usable"
    assert refusal(reply(channel="voicemail", line="+12125559998"), d) == "number_cannot_text"
