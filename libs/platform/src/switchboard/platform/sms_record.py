"""Has the SMS provider already got this message? Twilio's Messages API takes no idempotency
key on create (it ignores an `Idempotency-Key` header), so a send whose outcome we do not
know (the process died between the provider's accept and our mark, or the answer was lost)
is not simply repeated: we first read the provider's record of messages to the recipient
(GET Messages.json?To=&From=) and resend only when none matches.

A match is a message with the same To, From and Body created since the send was queued
(less a clock-skew margin) that the provider did not drop (`failed`/`canceled`). Twilio
keeps no reference of ours on a message, so identical text to the same recipient in that
window counts as "already has it": the recipient already got exactly that text.
The DateSent filter is not used: a message still queued has no date_sent yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

SKEW = timedelta(seconds=60)  # provider's clock vs ours
PAGE_SIZE = 50
MAX_PAGES = 5
DROPPED = frozenset({"failed", "canceled"})  # the provider will never send these
UNREADABLE = "sms_record_unreadable"  # the `why` of an attempt that could not look


class LookupFailed(Exception):
    """The provider's record could not be read: do not guess, retry later."""


@dataclass(frozen=True)
class Wanted:
    to: str
    sender: str
    body: str
    since: datetime  # when the send was queued on our side


def provider_time(value: object) -> datetime | None:
    """Twilio dates are RFC 2822 ("Thu, 03 Dec 2026 20:45:58 +0000")."""
    if not isinstance(value, str) or not value:
        return None
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def match(messages: Iterable[Mapping[str, Any]], wanted: Wanted) -> str | None:
    """The sid of a message on the provider's record that is this send, if any."""
    since = wanted.since - SKEW
    for m in messages:
        if m.get("to") != wanted.to or m.get("from") != wanted.sender:
            continue
        if (m.get("body") or "") != wanted.body or m.get("status") in DROPPED:
            continue
        created = provider_time(m.get("date_created"))
        if created is not None and created >= since and m.get("sid"):
            return str(m["sid"])
    return None


def all_older(messages: list[Mapping[str, Any]], since: datetime) -> bool:
    """A page whose messages all predate the window: later pages are older still."""
    times = [provider_time(m.get("date_created")) for m in messages]
    return bool(times) and all(t is not None and t < since - SKEW for t in times)


async def find_sent(
    client: httpx.AsyncClient,
    base_url: str,
    account_sid: str,
    auth_token: str,
    wanted: Wanted,
    wait_s: float,
) -> str | None:
    """The provider's sid for this send if it already has it; LookupFailed if unreadable."""
    import httpx

    base = base_url.rstrip("/")
    url: str | None = f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json"
    params: dict[str, str | int] | None = {
        "To": wanted.to,
        "From": wanted.sender,
        "PageSize": PAGE_SIZE,
    }
    for _ in range(MAX_PAGES):
        if url is None:
            break
        try:
            r = await client.get(url, params=params, auth=(account_sid, auth_token), timeout=wait_s)
        except httpx.HTTPError as exc:
            raise LookupFailed(type(exc).__name__) from None
        if r.status_code != 200:
            raise LookupFailed(f"http_{r.status_code}")
        try:
            page = r.json()
            messages = list(page.get("messages") or [])
        except (ValueError, AttributeError, TypeError):
            raise LookupFailed("bad_page") from None
        sid = match(messages, wanted)
        if sid is not None:
            return sid
        if all_older(messages, wanted.since):
            return None
        nxt = page.get("next_page_uri")
        # next_page_uri is a path with the query already in it.
        url, params = (f"{base}{nxt}", None) if nxt else (None, None)
    return None


def outcome_unknown(previous_status: str | None, last_error: str | None) -> bool:
    """Might an earlier attempt have reached the provider? Yes when the process died while
    sending (the row was still `sending`) or the last attempt ended without the provider's
    answer (timeout, reset, sender error); no when the provider answered with an error or
    the connection was never made."""
    if previous_status == "sending":
        return True
    if not last_error:
        return False
    certain = ("_http_", "ConnectError", "ConnectTimeout", "_not_configured")
    return not any(c in last_error for c in certain)
