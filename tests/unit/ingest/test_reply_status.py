"""What a reply's outcome does to its conversation (ingest, pure): "Send and Close" closes
only once the channel accepted the reply; a failure reopens it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from switchboard.events import ConversationStatusChanged, ReplyRequested
from switchboard.ingest.domain.directory import Directory
from switchboard.ingest.domain.outbound import failed_event, sent_event
from switchboard.ingest.domain.reply_status import status_after, with_status
from switchboard.ingest.entrypoints.handlers import Handlers
from switchboard.ingest.settings import IngestSettings

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def request(keep_open: bool = False, line: str = "+12125550000") -> ReplyRequested:
    eid = uuid.uuid4()
    return ReplyRequested(
        event_id=eid,
        correlation_id=eid,
        occurred_at=T0,
        practice_id="demo",
        conversation_id=uuid.uuid4(),
        actor="u-ma",
        message_id=uuid.uuid4(),
        channel="sms",
        line=line,
        to="+12125550111",
        body="Your refill is ready",
        keep_open=keep_open,
        requested_at=T0,
    )


def test_send_and_close_closes_when_sent_by_the_sender_because_it_was_sent():
    # covers I-DELIV-1, I-STATUS-1, I-AUDIT-1
    r = request()
    sent = sent_event(r, "SM1", T0 + timedelta(seconds=2))
    close = status_after(r, sent)
    assert isinstance(close, ConversationStatusChanged)
    assert close.status == "closed" and close.actor == "u-ma"
    assert close.causation_id == sent.event_id and close.correlation_id == r.correlation_id
    assert close.occurred_at == sent.sent_at
    # a repeated report (a crash before `reported`) appends the same close, not a second one
    assert status_after(r, sent_event(r, "SM1", T0 + timedelta(seconds=2))) == close
    assert with_status(r, sent) == [sent, close]


def test_send_and_keep_open_changes_nothing_when_sent():
    # covers I-DELIV-1
    r = request(keep_open=True)
    sent = sent_event(r, "SM1", T0)
    assert status_after(r, sent) is None and with_status(r, sent) == [sent]


def test_a_failed_reply_reopens_its_conversation_by_the_system():
    # covers I-DELIV-2
    for keep_open in (False, True):
        r = request(keep_open=keep_open)
        failed = failed_event(r, "provider_undelivered_30003", T0 + timedelta(minutes=1), "SM1")
        reopen = status_after(r, failed)
        assert reopen is not None and reopen.status == "open" and reopen.actor == "system"
        assert reopen.causation_id == failed.event_id


async def test_a_refused_reply_fails_and_reopens_without_closing():
    # covers I-DELIV-1, I-DELIV-2
    settings = IngestSettings(service_name="ingest", practices=["demo"])
    handlers = Handlers(settings, Directory([]))
    out = await handlers.actions(None, [request(line="+13105550000")])  # type: ignore[arg-type]
    assert [type(e).__name__ for e in out] == ["ReplyFailed", "ConversationStatusChanged"]
    assert out[0].why == "line_not_of_practice"  # type: ignore[union-attr]
    assert out[1].status == "open"  # type: ignore[union-attr]
