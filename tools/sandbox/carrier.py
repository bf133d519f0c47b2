"""The SMS carrier's pure rules: a message as Twilio's Messages resource keeps it, the
statuses it may pass through, the status callback form and its signature, the message list's
pages. No I/O: `app` does the HTTP and the timing.

Statuses, in order: queued -> sent -> delivered -> read; `undelivered` and `failed` end a
message that was never delivered (from queued or sent only). Moving a message to a later
status passes through the ones between (sent -> read calls back delivered, then read), as a
carrier reports them. Each status after `queued` is called back to the message's
StatusCallback, form-encoded and signed with the account's auth token the way Twilio signs
(X-Twilio-Signature: ingest's `adapters.twilio.signature`, the very function that checks it).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from switchboard.ingest.adapters.twilio import signature

API_VERSION = "2010-04-01"
ORDER = ("queued", "sent", "delivered", "read")
ENDINGS = ("undelivered", "failed")  # never delivered
STATUSES = (*ORDER, *ENDINGS)
# Twilio's codes a demo needs; any other alphanumeric code is passed on as given.
ERROR_MESSAGES = {
    "30003": "Unreachable destination handset",
    "30004": "Message blocked",
    "30005": "Unknown destination handset",
    "30006": "Landline or unreachable carrier",
    "30007": "Message filtered",
    "30008": "Unknown error",
}
DEFAULT_ERROR = {"undelivered": "30003", "failed": "30008"}
SID = re.compile(r"^SM[0-9a-f]{32}$")


class NotAllowed(ValueError):
    """The status cannot follow the message's current one; the message says why."""


def path(current: str, target: str) -> list[str]:
    """The statuses a message at `current` passes through to reach `target`, in order."""
    if target not in STATUSES:
        raise NotAllowed(f"unknown status {target!r}")
    if current in ENDINGS:
        raise NotAllowed(f"the message is already {current}")
    here = ORDER.index(current)
    if target in ENDINGS:
        if here >= ORDER.index("delivered"):
            raise NotAllowed(f"a {current} message cannot become {target}")
        return ["sent", target] if current == "queued" and target == "undelivered" else [target]
    there = ORDER.index(target)
    if there <= here:
        raise NotAllowed(f"the message is already {current}")
    return list(ORDER[here + 1 : there + 1])


@dataclass(frozen=True)
class Outcome:
    """How a message ends when nobody intervenes: `sent` holds it there (for the page's
    buttons or the admin API), `delivered`, or one of ENDINGS with an error code."""

    status: str = "delivered"
    error_code: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ("sent", "delivered", *ENDINGS):
            raise NotAllowed(
                f"an outcome is sent, delivered, undelivered or failed: not {self.status!r}"
            )
        if self.error_code is not None and not self.error_code.isalnum():
            raise NotAllowed("error_code must be a code")

    def code(self) -> str | None:
        if self.status in ENDINGS:
            return self.error_code or DEFAULT_ERROR[self.status]
        return None


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


@dataclass
class Message:
    sid: str
    account_sid: str
    to: str
    sender: str
    body: str
    created_at: datetime
    status_callback: str | None = None
    num_media: int = 0
    status: str = "queued"
    updated_at: datetime | None = None
    error_code: str | None = None
    # (status, when) for every status the message reached, oldest first.
    history: list[tuple[str, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.history:
            self.history.append((self.status, self.created_at))
        self.updated_at = self.updated_at or self.created_at

    def move(self, status: str, at: datetime, error_code: str | None = None) -> None:
        """One step (callers walk `path`); checks it is the next allowed one."""
        if path(self.status, status) != [status]:
            raise NotAllowed(f"{self.status} cannot become {status} directly")
        self.status, self.updated_at = status, at
        if status in ENDINGS:
            self.error_code = error_code or DEFAULT_ERROR[status]
        self.history.append((status, at))

    def resource(self) -> dict[str, object]:
        """The message as Twilio's API answers it (dates RFC 2822)."""
        sent_at = next((at for s, at in self.history if s == "sent"), None)
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "to": self.to,
            "from": self.sender,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "num_media": str(self.num_media),
            "num_segments": "1",
            "date_created": format_datetime(self.created_at),
            "date_updated": format_datetime(self.updated_at or self.created_at),
            "date_sent": format_datetime(sent_at) if sent_at else None,
            "error_code": int(code) if (code := self.error_code or "").isdigit() else None,
            "error_message": ERROR_MESSAGES.get(self.error_code or "") if self.error_code else None,
            "api_version": API_VERSION,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json",
        }


def callback_form(message: Message, status: str) -> dict[str, str]:
    """Twilio's status callback parameters for `message` reaching `status`."""
    form = {
        "AccountSid": message.account_sid,
        "ApiVersion": API_VERSION,
        "From": message.sender,
        "MessageSid": message.sid,
        "MessageStatus": status,
        "SmsSid": message.sid,
        "SmsStatus": status,
        "To": message.to,
    }
    if status in ENDINGS and message.error_code:
        form["ErrorCode"] = message.error_code
    return form


def signed_headers(auth_token: str, url: str, form: Mapping[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": signature(auth_token, url, form)}


def authorized(header: str | None, account_sid: str, auth_token: str | None) -> bool:
    """HTTP Basic with the account sid and auth token (any credentials when the sandbox
    has no token: the integration tests' stand-in)."""
    if not header or not header.lower().startswith("basic "):
        return False
    if auth_token is None:
        return True
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user, account_sid) and hmac.compare_digest(password, auth_token)


class BadRequest(ValueError):
    """Twilio's 400: the message says which parameter."""


def create(
    account_sid: str, form: Mapping[str, list[str]], now: datetime, sid: str | None = None
) -> Message:
    """A new message from the POST form of Messages.json (queued)."""
    to, sender = form.get("To", [""])[0].strip(), form.get("From", [""])[0].strip()
    if not to or not sender:
        raise BadRequest("A 'To' and 'From' phone number are required")
    callback = form.get("StatusCallback", [""])[0].strip() or None
    return Message(
        sid=sid or new_sid(),
        account_sid=account_sid,
        to=to,
        sender=sender,
        body=form.get("Body", [""])[0],
        created_at=now,
        status_callback=callback,
        num_media=len(form.get("MediaUrl", [])),
    )


def page(messages: list[Message], base: str, query: Mapping[str, str]) -> dict[str, object]:
    """GET Messages.json: the account's messages newest first, filtered by To and From,
    paged by PageSize/Page with a next_page_uri (a path with its query)."""
    found = [
        m
        for m in reversed(messages)
        if query.get("To", m.to) == m.to and query.get("From", m.sender) == m.sender
    ]
    size = max(1, min(int(query.get("PageSize", "50")), 1000))
    number = max(0, int(query.get("Page", "0")))
    chunk = found[number * size : (number + 1) * size]
    keep = {k: v for k, v in query.items() if k in ("To", "From")}
    nxt = None
    if (number + 1) * size < len(found):
        more = {**keep, "PageSize": size, "Page": number + 1, "PageToken": f"PA{number + 1}"}
        nxt = f"{base}?{urlencode(more)}"
    return {
        "messages": [m.resource() for m in chunk],
        "page": number,
        "page_size": size,
        "uri": f"{base}?{urlencode({**keep, 'PageSize': size, 'Page': number})}",
        "first_page_uri": f"{base}?{urlencode({**keep, 'PageSize': size, 'Page': 0})}",
        "next_page_uri": nxt,
        "previous_page_uri": None,
    }
