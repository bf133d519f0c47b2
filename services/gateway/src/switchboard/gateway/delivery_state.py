"""What staff are told about a reply's delivery: its newest state, and a failure in words.
Pure.

- I-DELIV-3 The delivery state shown for a reply is the newest by the time each state
  happened (queued, sent, delivered, read, undelivered, failed), never a pick by name; a tie
  goes to the later step (a failure reported with its carrier status goes to the failure).
  A reply with no result yet is "queued".
- I-DELIV-5 A failed reply says why in a sentence a front desk understands (`failure_words`),
  never only a code; the code stays beside it for support.

Failure codes are ingest's `why` (ReplyFailed): refusals (`line_not_of_practice`, ...), the
senders' results (`sms_not_configured`, `sms_http_400`, `smtp_550`, ...), retries given up
(`<why>_after_<n>_attempts`) and the carrier's later verdict
(`provider_undelivered_<code>`, `provider_failed_<code>`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Later steps win a tie of times: a failure beats the "sent" stamped the same instant.
RANK = {"sent": 1, "delivered": 2, "read": 3, "undelivered": 4, "failed": 5}
LABELS = {
    "queued": "Queued",
    "sent": "Sent",
    "delivered": "Delivered",
    "read": "Read",
    "undelivered": "Not delivered",
    "failed": "Failed",
}
FAILED = frozenset({"failed", "undelivered"})

EXACT = {
    "sms_not_configured": "No SMS provider is configured for this practice.",
    "email_not_configured": "No email server is configured for this practice.",
    "line_not_of_practice": "The line this reply was to go out on is not one of this practice's.",
    "number_cannot_text": "The number the patient called cannot send text messages.",
    "recipient_not_an_email_address": "The patient's address is not a valid email address.",
    "attachment_of_another_practice": "An attached file belongs to another practice.",
    "attachment_ref_not_usable": "An attached file could not be found.",
    "attachment_missing": "An attached file could not be found.",
    "email_recipient_refused": "The patient's mail server refused the address.",
    "sender_error": "Switchboard could not hand the reply to the provider (an internal error).",
    "sms_record_unreadable": "The SMS provider could not be asked whether it already sent it.",
}

# Twilio's error codes for a message the carrier did not deliver.
CARRIER = {
    "30003": "The phone may be switched off or out of reach.",
    "30004": "The recipient has blocked messages from this number.",
    "30005": "The number does not exist.",
    "30006": "The number is a landline or cannot receive texts.",
    "30007": "The carrier filtered the message.",
    "30008": "The carrier gave no reason.",
    "21610": "The patient has replied STOP to this number.",
    "21211": "It is not a valid phone number.",
    "21614": "It is not a mobile number.",
}

AFTER = re.compile(r"^(?P<why>.+)_after_(?P<n>\d+)_attempts$")
CARRIER_CODE = re.compile(r"^provider_(?:undelivered|failed)(?:_(?P<code>\w+))?$")


@dataclass(frozen=True)
class DeliveryState:
    state: str
    label: str
    at: datetime | None = None
    why: str | None = None
    words: str | None = None

    @property
    def failed(self) -> bool:
        return self.state in FAILED

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "label": self.label,
            "at": self.at,
            "why": self.why,
            "words": self.words,
            "failed": self.failed,
        }


def failure_words(why: str | None) -> str:
    """A sentence for a failure code (I-DELIV-5)."""
    if not why:
        return "The reply could not be sent."
    if why in EXACT:
        return EXACT[why]
    after = AFTER.match(why)
    if after:
        n = int(after["n"])
        tries = "1 attempt" if n == 1 else f"{n} attempts"
        return f"{failure_words(after['why'])[:-1]}; gave up after {tries}."
    carrier = CARRIER_CODE.match(why)
    if carrier:
        code = carrier["code"]
        if not code:
            return "The carrier could not deliver to this number."
        more = CARRIER.get(code)
        return f"The carrier could not deliver to this number ({code})." + (
            f" {more}" if more else ""
        )
    if m := re.fullmatch(r"sms_http_(\d{3})", why):
        return f"The SMS provider refused the reply (HTTP {m[1]})."
    if m := re.fullmatch(r"smtp_(\d{3})", why):
        return f"The mail server refused the reply (SMTP {m[1]})."
    if why.startswith("sms_"):
        return "The SMS provider could not be reached."
    if why.startswith("smtp_"):
        return "The mail server could not be reached."
    if why.startswith("attachment_"):
        return "An attached file could not be read."
    return f"The reply could not be sent ({why})."


def newest(delivery: dict[str, Any] | None, outbound: bool = True) -> DeliveryState | None:
    """The state to show for a message, from its delivery rows {kind: {"at", "why"}}
    (I-DELIV-3). None for an inbound message."""
    if not outbound:
        return None
    rows = [(k, v) for k, v in (delivery or {}).items() if k in RANK and v and v.get("at")]
    if not rows:
        return DeliveryState("queued", LABELS["queued"])
    kind, row = max(rows, key=lambda kv: (_at(kv[1]["at"]), RANK[kv[0]]))
    why = row.get("why")
    words = None
    if kind == "failed":
        words = failure_words(why)
    elif kind == "undelivered":
        words = failure_words(f"provider_undelivered_{why}" if why else "provider_undelivered")
    return DeliveryState(kind, LABELS[kind], _at(row["at"]), why, words)


def _at(value: Any) -> datetime:
    # The read model gives JSON (an ISO string); tests may give datetimes.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
