"""Answering an unrecognized sender (X-UNREPLY-1). Pure: no I/O.

X-UNREPLY-1: where a practice allows it (the practice setting `reply_unrecognized`, off by
default, practice_settings.py), staff with the policy `inbox.reply_unrecognized` may answer
a conversation that has no patient:
- only to the address or number that wrote, from the line it wrote to: the server takes both
  from the conversation, never from the request (a `line` other than the thread's is a 422);
- with no patient placeholders ({{first_name}}, {{last_name}}, {{full_name}}, {{location}}):
  there is no patient to fill them from, and a guess would disclose another patient's data.
  Left in the text or in the chosen template they are refused with 422 naming them;
- setting off or no policy: 403 with the reason (`refusal`);
- each such reply is audited: its ReplyRequested says `unverified_sender` (actor and
  conversation are on the event) and the gateway's access record has `reply_unrecognized`;
- linking the conversation to a patient later keeps the replies in its thread (the
  conversation id does not change) and ends the exception: it is then answered as any other.

The reply box says the sender is not verified (web/static/inbox/unverified.js).
"""

from __future__ import annotations

import re

from switchboard.gateway.auth import Principal

POLICY = "inbox.reply_unrecognized"
SETTING = "reply_unrecognized"
ACCESS_ACTION = "reply_unrecognized"
# The template placeholders that are the patient's (staff_name is the sender's own).
PATIENT_PLACEHOLDERS = ("first_name", "last_name", "full_name", "location")
# Anything between double braces, as routes/templates.py reads a template body.
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

OFF = (
    "this practice does not allow replies to unrecognized senders: link the conversation to "
    "a patient first, or a practice admin turns on replies to unrecognized senders"
)
NO_POLICY = (
    "answering an unrecognized sender needs the inbox.reply_unrecognized policy: link the "
    "conversation to a patient first, or ask a practice admin for the policy"
)
NO_INBOX = "your role has no Inbox access"


def refusal(p: Principal, practice_allows: bool) -> str | None:
    """Why `p` may not answer an unrecognized sender (403), or None when they may."""
    if not p.has_inbox:
        return NO_INBOX
    if not practice_allows:
        return OFF
    if POLICY not in p.policies:
        return NO_POLICY
    return None


def patient_placeholders(*texts: str | None) -> list[str]:
    """The patient placeholders used in `texts`, in order of first use, each once."""
    found = (m.group(1) for t in texts if t for m in _PLACEHOLDER.finditer(t))
    return [name for name in dict.fromkeys(found) if name in PATIENT_PLACEHOLDERS]


def placeholder_refusal(*texts: str | None) -> str | None:
    """The 422 reason when `texts` (the reply, its subject, the template's body) use patient
    placeholders, naming them; None otherwise."""
    names = patient_placeholders(*texts)
    if not names:
        return None
    named = ", ".join("{{" + n + "}}" for n in names)
    return (
        f"the sender is not verified: patient placeholders cannot be used ({named}); "
        "write the reply without them"
    )


def line_refusal(asked: str | None, thread_line: str) -> str | None:
    """A reply to an unrecognized sender goes from the line it wrote to, nothing else."""
    if asked is not None and asked != thread_line:
        return "a reply to an unrecognized sender goes from the line it wrote to"
    return None
