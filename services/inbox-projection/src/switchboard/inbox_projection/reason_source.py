"""Why a conversation carries its reason, in the staff API's words (R-REASON-4). Pure.

The router's `MessageRouted.reason_source` says `cleared` for both ways R-OVERWRITE-1 clears
a reason; the channel that cleared it is in the decision's own explanation (the reason step's
inputs name the message's channel). Staff need to tell "the patient picked Other" from "a
voicemail cleared the reason": both carry the reason `other`.
"""

from __future__ import annotations

from collections.abc import Iterable

from switchboard.events import RuleFired

# The router's source -> the API's; `cleared` is split by channel below.
_PUBLIC = {
    "patient_pick": "picked",
    "sticky": "sticky",
    "voicemail_extension": "voicemail_extension",
    "kept": "kept",
    "none": "none",
}
_CLEARED_BY = {"voicemail": "cleared_by_voicemail", "sms": "cleared_by_sms"}

# Every value the API may show (documented on the response models).
PUBLIC_SOURCES = (
    "picked",
    "sticky",
    "voicemail_extension",
    "cleared_by_sms",
    "cleared_by_voicemail",
    "cleared",
    "kept",
    "none",
)


def public_reason_source(source: str, explanation: Iterable[RuleFired]) -> str:
    """The API's reason source for one routing decision."""
    if source != "cleared":
        return _PUBLIC.get(source, source)
    for step in explanation:
        if step.rule == "R-OVERWRITE-1":
            channel = step.inputs.get("channel")
            if isinstance(channel, str) and channel in _CLEARED_BY:
                return _CLEARED_BY[channel]
    return "cleared"
