"""Reading the SMS provider's record before a resend: which message is "this send", when
an earlier attempt's outcome is unknown, and paging through Twilio's list answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from switchboard.platform.sms_record import (
    LookupFailed,
    Wanted,
    find_sent,
    match,
    outcome_unknown,
)

QUEUED = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
WANTED = Wanted(to="+12125550101", sender="+12125550000", body="See you at 3", since=QUEUED)


def msg(sid: str, at: datetime, **kw: str) -> dict[str, object]:
    return {
        "sid": sid,
        "to": WANTED.to,
        "from": WANTED.sender,
        "body": WANTED.body,
        "status": "queued",
        "date_created": format_datetime(at),
    } | kw


def test_the_same_text_to_the_same_recipient_since_it_was_queued_matches():
    assert match([msg("SM1", QUEUED + timedelta(seconds=2))], WANTED) == "SM1"
    # Within the clock-skew margin of the provider's clock.
    assert match([msg("SM2", QUEUED - timedelta(seconds=30))], WANTED) == "SM2"


@pytest.mark.parametrize(
    "other",
    [
        {"to": "+12125550102"},
        {"from": "+12125550001"},
        {"body": "See you at 4"},
        {"status": "failed"},
        {"status": "canceled"},
    ],
)
def test_another_recipient_line_text_or_a_dropped_message_does_not(other):
    assert match([msg("SM1", QUEUED + timedelta(seconds=2), **other)], WANTED) is None


def test_an_older_identical_message_is_another_send():
    assert match([msg("SM1", QUEUED - timedelta(hours=1))], WANTED) is None


@pytest.mark.parametrize(
    ("previous_status", "last_error", "unknown"),
    [
        (None, None, False),  # first attempt
        ("pending", None, False),
        ("sending", None, True),  # the process died while sending
        ("pending", "sms_ReadTimeout", True),  # the answer was lost
        ("pending", "sms_RemoteProtocolError", True),
        ("pending", "sender_error", True),
        ("pending", "sms_record_unreadable", True),  # still unknown
        ("pending", "sms_http_503", False),  # the provider said no
        ("pending", "sms_ConnectError", False),  # never reached it
        ("pending", "webhook_http_500", False),
    ],
)
def test_outcome_unknown(previous_status, last_error, unknown):
    assert outcome_unknown(previous_status, last_error) is unknown


def provider(pages: list[dict[str, object]], seen: list[httpx.Request]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params.get("Page", "0"))
        return httpx.Response(200, json=pages[page])

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


async def test_find_sent_follows_next_page_until_it_matches():
    seen: list[httpx.Request] = []
    base = "/2010-04-01/Accounts/AC1/Messages.json"
    pages = [
        {
            "messages": [msg("SMa", QUEUED + timedelta(seconds=9), body="other")],
            "next_page_uri": f"{base}?To=%2B12125550101&Page=1&PageToken=PA1",
        },
        {"messages": [msg("SMb", QUEUED + timedelta(seconds=1))], "next_page_uri": None},
    ]
    async with provider(pages, seen) as client:
        sid = await find_sent(client, "https://api.example", "AC1", "tok", WANTED, 1.0)
    assert sid == "SMb"
    assert [r.url.params.get("To") for r in seen] == [WANTED.to, WANTED.to]
    assert seen[0].url.params["From"] == WANTED.sender
    assert seen[0].headers["authorization"].startswith("Basic ")


async def test_find_sent_stops_at_a_page_older_than_the_send():
    seen: list[httpx.Request] = []
    pages = [
        {
            "messages": [msg("SMa", QUEUED - timedelta(days=1))],
            "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?Page=1",
        },
        {"messages": [msg("SMb", QUEUED + timedelta(seconds=1))]},
    ]
    async with provider(pages, seen) as client:
        assert await find_sent(client, "https://api.example", "AC1", "tok", WANTED, 1.0) is None
    assert len(seen) == 1


async def test_an_unreadable_record_is_not_taken_for_an_empty_one():
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(500)))
    async with client:
        with pytest.raises(LookupFailed):
            await find_sent(client, "https://api.example", "AC1", "tok", WANTED, 1.0)
