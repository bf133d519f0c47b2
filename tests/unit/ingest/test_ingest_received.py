"""The one builder of MessageReceived (domain/received.py): ids derived as events already in
the log were, and the conversation each channel gets, from the channel-neutral Inbound."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from switchboard.events import deterministic_id
from switchboard.events.internal.router import Reason, ReasonsOffer
from switchboard.ingest.domain.errors import Invalid
from switchboard.ingest.domain.inbound import Inbound, ThreadHints
from switchboard.ingest.domain.reasons import chosen_reason
from switchboard.ingest.domain.received import (
    message_received,
    messenger_conversation,
    thread_id,
)

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
LINE, JANE = "+12125550000", "+12125550101"


def inbound(channel="sms", external_id="SM1", **over) -> Inbound:
    fields = {
        "channel": channel,
        "practice_id": "demo",
        "sender": JANE,
        "line": LINE,
        "provider": "twilio",
        "external_id": external_id,
        "received_at": NOW,
        "body": "hi",
    }
    return Inbound(**(fields | over))


def test_ids_are_the_ones_already_in_the_log():
    assert message_received(inbound()).event_id == deterministic_id("demo", "twilio", "SM1")
    vm = message_received(inbound("voicemail", "RE1"))
    assert vm.event_id == deterministic_id("demo", "twilio-voicemail", "RE1")
    mail = inbound("email", "<m1@x>", thread=ThreadHints("<m1@x>"), provider="email-http")
    assert message_received(mail).event_id == deterministic_id("demo", "email", "<m1@x>")
    page = inbound(
        "web_chat", "c-1", provider="patient-page", patient_id="p1", conversation_id=uuid.uuid4()
    )
    assert message_received(page).event_id == deterministic_id("demo", "patient-page", "p1", "c-1")


@pytest.mark.parametrize("channel", ["sms", "voicemail"])
def test_a_recognized_sender_joins_their_thread_on_the_line(channel):
    event = message_received(inbound(channel), recognized=True)
    assert event.conversation_id == thread_id("demo", LINE, JANE)  # covers I-LINE-1


@pytest.mark.parametrize("recognized", [False, None])
@pytest.mark.parametrize("channel", ["sms", "voicemail"])
def test_an_unrecognized_or_not_yet_known_sender_is_one_communication_each(channel, recognized):
    # covers I-THREAD-1: None (database away) is provisionally the same, decided later.
    a = message_received(inbound(channel, "X1"), recognized=recognized)
    b = message_received(inbound(channel, "X2"), recognized=recognized)
    assert a.conversation_id != b.conversation_id
    assert thread_id("demo", LINE, JANE) not in (a.conversation_id, b.conversation_id)


def test_an_email_gets_its_thread_or_provisionally_its_own_id():
    mail = inbound("email", "<m2@x>", thread=ThreadHints("<m2@x>", "<m1@x>", ("<m0@x>", "<m1@x>")))
    found = uuid.uuid4()
    assert message_received(mail, conversation_id=found).conversation_id == found
    deferred = message_received(mail)
    assert deferred.conversation_id == deferred.event_id
    assert deferred.email_threading is not None
    assert deferred.email_threading.in_reply_to == "<m1@x>"
    assert mail.thread is not None and mail.thread.ids == ("<m1@x>", "<m0@x>")


def test_a_long_message_id_is_carried_as_its_hash_but_keeps_the_id_it_names():
    long_id = "<" + "a" * 300 + "@x>"
    event = message_received(inbound("email", long_id, thread=ThreadHints(long_id)))
    assert event.provider_message_id.startswith("sha256:")
    assert event.event_id == deterministic_id("demo", "email", long_id)


def test_a_patient_page_message_needs_its_session():
    with pytest.raises(ValueError):
        message_received(inbound("web_chat", "c-1", patient_id="p1"))
    with pytest.raises(ValueError):
        message_received(inbound("web_chat", "c-1", conversation_id=uuid.uuid4()))


def test_the_messenger_shares_the_sms_thread_only_with_the_numbers_one_patient():
    own = messenger_conversation("demo", LINE, JANE, "p1", ["p1"])
    assert own == thread_id("demo", LINE, JANE)
    shared = messenger_conversation("demo", LINE, JANE, "p1", ["p1", "p2"])
    assert shared == deterministic_id("demo", "web_chat", "p1")
    assert messenger_conversation("demo", "messenger", JANE, "p1", ["p1"]) == shared


def offer(show: bool, codes: list[str]) -> ReasonsOffer:
    reasons = [Reason(code=c, label=c.title()) for c in codes]
    return ReasonsOffer(
        reason_routing=True,
        location_routing=False,
        show_picker=show,
        why="first_message" if show else "assigned",
        reasons=reasons,
        catalogue=reasons,
        current_reason=None,
    )


def test_a_reason_is_required_only_when_the_picker_is_shown():
    shown = offer(True, ["refill", "other"])
    assert chosen_reason(shown, "refill") == "refill"  # covers R-REASON-2
    with pytest.raises(Invalid):
        chosen_reason(shown, None)
    with pytest.raises(Invalid):
        chosen_reason(shown, "billing")
    assert chosen_reason(offer(False, []), "refill") is None  # covers R-REASON-3
    assert chosen_reason(None, "refill") == "refill"  # the router could not be asked
