"""The sandbox carrier's pure rules (tools/sandbox/carrier.py): the status sequence, how a
message ends, the status callback form and its signature (checked by ingest's own check),
the message list's pages and the API's Basic auth."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from switchboard.ingest.adapters.twilio import signature_valid, status_callback
from tools.sandbox import carrier
from tools.sandbox.carrier import Message, NotAllowed, Outcome

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def message(**kw) -> Message:
    values = {
        "sid": "SM" + "0" * 32,
        "account_sid": "ACtest",
        "to": "+15551230000",
        "sender": "+12125550000",
        "body": "Tuesday at 10 works.",
        "created_at": T0,
        "status_callback": "http://127.0.0.1:8001/webhooks/twilio/status/demo",
    }
    return Message(**(values | kw))


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        ("queued", "sent", ["sent"]),
        ("queued", "delivered", ["sent", "delivered"]),
        ("sent", "read", ["delivered", "read"]),
        ("delivered", "read", ["read"]),
        ("queued", "undelivered", ["sent", "undelivered"]),
        ("sent", "undelivered", ["undelivered"]),
        ("queued", "failed", ["failed"]),
    ],
)
def test_a_later_status_passes_through_the_ones_between(current, target, expected):
    assert carrier.path(current, target) == expected


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("delivered", "undelivered"),  # delivered cannot be taken back
        ("read", "delivered"),
        ("sent", "sent"),
        ("undelivered", "delivered"),  # an ending is final
        ("failed", "read"),
        ("sent", "lost"),
    ],
)
def test_a_status_that_cannot_follow_is_refused(current, target):
    with pytest.raises(NotAllowed):
        carrier.path(current, target)


def test_a_message_keeps_the_history_of_its_statuses_and_its_error_code():
    m = message()
    for i, status in enumerate(carrier.path("queued", "undelivered"), 1):
        m.move(status, T0 + timedelta(seconds=i), "30003")
    assert [s for s, _ in m.history] == ["queued", "sent", "undelivered"]
    resource = m.resource()
    assert resource["status"] == "undelivered" and resource["error_code"] == 30003
    assert resource["error_message"] == "Unreachable destination handset"
    assert resource["date_sent"] == "Mon, 07 Dec 2026 09:00:01 +0000"
    with pytest.raises(NotAllowed):
        m.move("delivered", T0)


def test_a_step_must_be_the_next_one():
    with pytest.raises(NotAllowed):
        message().move("delivered", T0)  # not yet sent


def test_an_outcome_is_a_possible_end_with_a_default_code():
    assert Outcome().status == "delivered" and Outcome().code() is None
    assert Outcome("undelivered").code() == "30003"
    assert Outcome("failed").code() == "30008"
    assert Outcome("undelivered", "30006").code() == "30006"
    with pytest.raises(NotAllowed):
        Outcome("read")
    with pytest.raises(NotAllowed):
        Outcome("undelivered", "30003; DROP")


@pytest.mark.parametrize("status", ["delivered", "read", "undelivered"])
def test_the_callback_is_signed_as_ingest_checks_and_parses_as_a_status(status):
    m = message(status="sent")
    if status == "undelivered":
        m.move("undelivered", T0, "30003")
    form = carrier.callback_form(m, status)
    headers = carrier.signed_headers("the-token", m.status_callback, form)
    assert signature_valid("the-token", m.status_callback, form, headers["X-Twilio-Signature"])
    assert not signature_valid("other", m.status_callback, form, headers["X-Twilio-Signature"])
    cb = status_callback(form)
    assert (cb.sid, cb.status) == (m.sid, status)
    assert cb.error_code == ("30003" if status == "undelivered" else None)


def test_a_send_needs_to_and_from_and_starts_queued():
    form = {
        "To": ["+15551230000"],
        "From": ["+12125550000"],
        "Body": ["Hi"],
        "MediaUrl": ["a", "b"],
    }
    m = carrier.create("ACtest", form, T0)
    assert carrier.SID.match(m.sid) and m.status == "queued" and m.num_media == 2
    assert m.status_callback is None
    with pytest.raises(carrier.BadRequest):
        carrier.create("ACtest", {"To": ["+15551230000"], "Body": ["Hi"]}, T0)


def test_the_list_is_newest_first_filtered_and_paged_with_a_next_page_path():
    msgs = [message(sid=f"SM{i:032d}", created_at=T0 + timedelta(seconds=i)) for i in range(3)]
    msgs.append(message(sid="SM" + "9" * 32, to="+15559999999"))
    base = "/2010-04-01/Accounts/ACtest/Messages.json"
    first = carrier.page(msgs, base, {"To": "+15551230000", "PageSize": "2"})
    assert [m["sid"] for m in first["messages"]] == [f"SM{i:032d}" for i in (2, 1)]
    assert first["next_page_uri"].startswith(base + "?To=%2B15551230000&PageSize=2&Page=1")
    second = carrier.page(msgs, base, {"To": "+15551230000", "PageSize": "2", "Page": "1"})
    assert [m["sid"] for m in second["messages"]] == [f"SM{0:032d}"]
    assert second["next_page_uri"] is None


def test_the_api_wants_the_account_sid_and_token_as_basic_auth():
    good = "Basic " + base64.b64encode(b"ACtest:tok").decode()
    wrong = "Basic " + base64.b64encode(b"ACtest:nope").decode()
    assert carrier.authorized(good, "ACtest", "tok")
    assert not carrier.authorized(wrong, "ACtest", "tok")
    assert not carrier.authorized(None, "ACtest", "tok")
    assert not carrier.authorized("Basic !!!", "ACtest", "tok")
    assert carrier.authorized(wrong, "ACtest", None)  # no token set: any Basic credentials
