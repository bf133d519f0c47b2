"""Which reason a patient's message carries (R-REASON-2, R-REASON-3), from what the router
said about the picker. Pure."""

from __future__ import annotations

from switchboard.events.internal.router import ReasonsOffer
from switchboard.ingest.domain.errors import Invalid


def chosen_reason(answer: ReasonsOffer | None, given: str | None) -> str | None:
    """The reason to send with the message. `answer` is the router's (None: it could not
    be asked, the patient's choice stands)."""
    if answer is None:
        return given
    if answer.show_picker:
        offered = {r.code for r in answer.reasons}
        # covers R-REASON-2: a reason must be picked, from those offered, before sending.
        if given is None:
            raise Invalid("choose a reason for your message")
        if given not in offered:
            raise Invalid("this reason is not offered")
        return given
    return None  # covers R-REASON-3: not asked, so the conversation keeps its own
