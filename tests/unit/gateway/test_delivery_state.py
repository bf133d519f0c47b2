"""What staff are told about a reply's delivery (gateway, pure): the newest state by time,
not by name, and a failure in words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.events import ReplyDeliveryUpdated
from switchboard.gateway import live_relay
from switchboard.gateway.auth import Principal
from switchboard.gateway.delivery_state import failure_words, newest

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()  # as the read model gives it


def test_a_read_reply_shows_read_not_the_alphabetically_last_state():
    # covers I-DELIV-3
    # "sent" sorts after "read" and "delivered": the old pick showed "sent" for a read reply
    delivery = {"sent": {"at": at(0)}, "read": {"at": at(90)}, "delivered": {"at": at(5)}}
    state = newest(delivery)
    assert state is not None and state.state == "read" and state.label == "Read"
    assert state.at == T0 + timedelta(seconds=90) and state.words is None


def test_states_arriving_out_of_order_show_the_newest_by_time():
    # covers I-DELIV-3
    assert newest({"delivered": {"at": at(5)}, "sent": {"at": at(1)}}).state == "delivered"
    failed_later = {"sent": {"at": at(1)}, "failed": {"at": at(9), "why": "x"}}
    assert newest(failed_later).state == "failed"
    # a reply read after the carrier first said undelivered did reach the patient
    assert newest({"undelivered": {"at": at(3)}, "read": {"at": at(60)}}).state == "read"


def test_a_reply_without_a_result_is_queued_and_an_inbound_message_has_no_state():
    # covers I-DELIV-3
    assert newest(None).state == "queued" and newest({}).label == "Queued"
    assert newest({"sent": {"at": at(0)}}, outbound=False) is None


def test_the_carriers_failure_wins_a_tie_with_its_status_and_says_the_code():
    # covers I-DELIV-3, I-DELIV-5
    both = {
        "sent": {"at": at(0)},
        "undelivered": {"at": at(30), "why": "30003"},
        "failed": {"at": at(30), "why": "provider_undelivered_30003"},
    }
    state = newest(both)
    assert state.state == "failed" and state.failed
    assert state.words is not None
    assert state.words.startswith("The carrier could not deliver to this number (30003).")
    alone = newest({"undelivered": {"at": at(30), "why": "30005"}})
    assert alone.failed and "(30005)" in alone.words and "does not exist" in alone.words


@pytest.mark.parametrize(
    ("why", "words"),
    [
        ("sms_not_configured", "No SMS provider is configured for this practice."),
        ("email_not_configured", "No email server is configured for this practice."),
        ("provider_undelivered", "The carrier could not deliver to this number."),
        (
            "provider_failed_30007",
            "The carrier could not deliver to this number (30007). "
            "The carrier filtered the message.",
        ),
        (
            "provider_undelivered_30003",
            "The carrier could not deliver to this number (30003). "
            "The phone may be switched off or out of reach.",
        ),
        ("provider_undelivered_12345", "The carrier could not deliver to this number (12345)."),
        ("sms_http_400", "The SMS provider refused the reply (HTTP 400)."),
        (
            "sms_http_503_after_5_attempts",
            "The SMS provider refused the reply (HTTP 503); gave up after 5 attempts.",
        ),
        (
            "sms_ConnectTimeout_after_1_attempts",
            "The SMS provider could not be reached; gave up after 1 attempt.",
        ),
        ("smtp_550", "The mail server refused the reply (SMTP 550)."),
        ("email_recipient_refused", "The patient's mail server refused the address."),
        (
            "line_not_of_practice",
            "The line this reply was to go out on is not one of this practice's.",
        ),
        ("number_cannot_text", "The number the patient called cannot send text messages."),
        ("attachment_missing", "An attached file could not be found."),
        ("something_new", "The reply could not be sent (something_new)."),
        (None, "The reply could not be sent."),
    ],
)
def test_every_failure_code_reads_as_a_sentence(why, words):
    # covers I-DELIV-5
    assert failure_words(why) == words


def test_a_carrier_status_is_relayed_live_to_those_who_may_read_it():
    # covers I-DELIV-3, I-LIVE-1
    eid, cid = uuid.uuid4(), uuid.uuid4()
    read = ReplyDeliveryUpdated(
        event_id=eid,
        correlation_id=eid,
        occurred_at=T0,
        practice_id="demo",
        conversation_id=cid,
        message_id=uuid.uuid4(),
        channel="sms",
        actor="u-ma",
        provider_message_id="SM1",
        status="read",
        updated_at=T0,
    )
    me = Principal("u-1", "demo", "staff", frozenset())
    told = live_relay.view(read, me, visible=True)
    assert told == {
        "type": "conversation",
        "conversation_id": str(cid),
        "change": "ReplyDeliveryUpdated",
    }
    assert live_relay.view(read, me, visible=False) is None
