"""A patient's message is accepted once Kafka acknowledged it: the page's own copy
(`portal_messages`) failing afterwards never turns it into a 503 the page would resend
(the fault harness saw every messenger send answered 503 after the message was on the log
while ingest's database was slow). The copy is retried in the background until it is
written."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from ingest_fakes import FakePublisher, make_client
from peer_answers import reasons_offer
from sqlalchemy.exc import OperationalError

from switchboard.events import MessageReceived
from switchboard.events.internal.router import ReasonsOffer
from switchboard.ingest.adapters.page_copies import PageCopies
from switchboard.ingest.domain.inbound import Inbound
from switchboard.ingest.domain.received import message_received
from switchboard.ingest.entrypoints.patient_sign_in import PatientSession, patient_session

CONVERSATION = uuid.uuid4()


class AwayDatabase:
    """A session factory whose sessions fail as a database that went away does, `fails`
    times, then record what they were asked to write."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.written: list = []

    def __call__(self):
        db = self

        class Session:
            async def __aenter__(self):
                if db.fails:
                    db.fails -= 1
                    raise OperationalError("connect", {}, ConnectionRefusedError())
                return self

            async def __aexit__(self, *exc):
                return False

            def begin(self):
                return self

            async def execute(self, statement):
                db.written.append(statement.compile().params["message_id"])

        return Session()


def signed_in_client(tmp_path, publisher: FakePublisher, database: AwayDatabase):
    client = make_client(tmp_path, publisher)
    app = client.app
    app.dependency_overrides[patient_session] = lambda: PatientSession(
        "demo", "p-1", CONVERSATION, "messenger", "+12125550101", "+12125550000"
    )

    async def no_picker(practice_id, conversation_id):
        return ReasonsOffer.model_validate(reasons_offer())

    app.state.peers.reasons = no_picker
    app.state.page_copies = PageCopies(database, delays=(0.01,) * 3, first_wait_s=0.5)
    return client


def test_a_message_on_the_log_is_accepted_though_the_database_fails_after(tmp_path):
    publisher = FakePublisher()
    database = AwayDatabase(fails=1)
    client = signed_in_client(tmp_path, publisher, database)
    r = client.post(
        "/patient/demo/messages",
        json={"client_message_id": "c-1", "body": "Can I move my appointment?"},
        headers={"Authorization": "Bearer x"},
    )
    assert r.status_code == 202, r.text
    [event] = publisher.published
    assert isinstance(event, MessageReceived) and event.conversation_id == CONVERSATION
    assert r.json()["message_id"] == str(event.message_id)


async def test_the_page_copy_is_written_by_the_background_retries_once_the_database_is_back():
    database = AwayDatabase(fails=2)
    copies = PageCopies(database, delays=(0.01, 0.01, 0.01), first_wait_s=0.5)
    event = _event()
    assert await copies.keep(event, []) is False  # deferred, not an error
    [task] = copies.pending
    assert await task is True
    assert database.written == [event.message_id]
    assert not copies.pending


async def test_a_copy_written_at_once_starts_no_retry():
    database = AwayDatabase(fails=0)
    copies = PageCopies(database)
    assert await copies.keep(_event(), []) is True
    assert not copies.pending


async def test_the_retries_give_up_after_their_delays_without_raising():
    database = AwayDatabase(fails=10)
    copies = PageCopies(database, delays=(0.01, 0.01), first_wait_s=0.5)
    await copies.keep(_event(), [])
    [task] = copies.pending
    assert await asyncio.wait_for(task, 5) is False
    assert database.written == []


def _event() -> MessageReceived:
    return message_received(
        Inbound(
            channel="web_chat",
            practice_id="demo",
            sender="+12125550101",
            line="+12125550000",
            provider="patient-page",
            external_id="c-2",
            received_at=datetime.now(UTC),
            body="hello",
            attachments=(),
            patient_id="p-1",
            selected_reason=None,
            conversation_id=CONVERSATION,
        )
    )
