"""The one place an inbound message becomes a MessageReceived: its ids and its conversation.
Pure: no I/O.

Ids are deterministic, so a provider's retry is the same message downstream (and so is the
copy published after a deferred look-up, ADR 0008). The derivations below are what events
already in the log were made with: never change them.

Threads (I-LINE-1, I-THREAD-1): a patient's messages on one practice number are one
conversation, a separate one per number. SMS has no threading of its own, so a message from
a number that is not exactly one patient's (unknown, or shared by several) is its own
unrecognized communication: its conversation id includes the provider's message id. A
voicemail follows the same rule. An email's thread is found from its headers in the
database (adapters/queries.py); the patient page's is the signed-in session's.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from switchboard.events import EmailThreading, MessageReceived, deterministic_id
from switchboard.ingest.domain.inbound import Inbound


def event_id(inbound: Inbound) -> uuid.UUID:
    """The message's id, from the provider's id of it."""
    p, ext = inbound.practice_id, inbound.external_id
    if inbound.channel == "sms":
        return deterministic_id(p, "twilio", ext)
    if inbound.channel == "voicemail":
        return deterministic_id(p, "twilio-voicemail", ext)
    if inbound.channel == "email":
        return deterministic_id(p, "email", ext)
    if inbound.patient_id is None:
        raise ValueError("a patient page message needs the signed-in patient")
    return deterministic_id(p, "patient-page", inbound.patient_id, ext)


def thread_id(practice_id: str, line: str, sender: str) -> uuid.UUID:
    """The conversation of one patient number on one practice number (I-LINE-1)."""
    return deterministic_id(practice_id, "sms", line, sender)


def sms_conversation_id(
    practice_id: str, line: str, sender: str, sid: str, recognized: bool
) -> uuid.UUID:
    # covers I-LINE-1: the line written to is part of the thread.
    if recognized:
        return thread_id(practice_id, line, sender)
    # covers I-THREAD-1: no threading for an unrecognized number, one communication each.
    return deterministic_id(practice_id, "sms", line, sender, sid)


def voicemail_conversation_id(
    practice_id: str, called: str, caller: str, recording: str, recognized: bool
) -> uuid.UUID:
    """A voicemail joins the caller's thread on the number called; an unrecognized caller's
    is its own communication (I-THREAD-1), like an SMS."""
    if recognized:
        return thread_id(practice_id, called, caller)
    return deterministic_id(practice_id, "voicemail", called, caller, recording)


def conversation_of(event: MessageReceived, recognized: bool) -> uuid.UUID:
    """The conversation of an SMS or voicemail event once its sender is known to be exactly
    one patient's or not: the one rule for a message published at once and for one whose
    look-up was deferred (ADR 0008)."""
    if event.channel == "voicemail":
        return voicemail_conversation_id(
            event.practice_id, event.recipient, event.sender, event.provider_message_id, recognized
        )
    return sms_conversation_id(
        event.practice_id, event.recipient, event.sender, event.provider_message_id, recognized
    )


def messenger_conversation(
    practice_id: str, line: str, phone: str, patient_id: str, owners: Sequence[str]
) -> uuid.UUID:
    """The messenger's conversation for a signed-in patient: their SMS thread on the
    practice's main line when the number is theirs alone (`owners`: the patients using it),
    so their texts and messenger messages are one conversation; else one of their own."""
    if list(owners) == [patient_id] and line != "messenger":
        return thread_id(practice_id, line, phone)
    return deterministic_id(practice_id, "web_chat", patient_id)


def provider_message_id(inbound: Inbound) -> str:
    """The provider's id as the event carries it: an email's Message-ID as given unless
    longer than the field allows (then its hash)."""
    value = inbound.external_id
    if inbound.channel == "email" and len(value) > 256:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def message_received(
    inbound: Inbound, *, recognized: bool | None = None, conversation_id: uuid.UUID | None = None
) -> MessageReceived:
    """`inbound` as the event everyone downstream reads.

    The conversation: `conversation_id` when the caller found it (an email's thread) or the
    message knew it (the patient page); else, for SMS and voicemail, the sender's thread
    when `recognized` (exactly one patient's number) and the message's own communication
    when not, or not known yet (None: deferred, provisional); for an email whose thread
    could not be looked up, provisionally the message's own id. deferred.py replaces a
    provisional one before anyone downstream sees the message.

    Raises ValueError (a pydantic ValidationError) when a field is out of bounds."""
    eid = event_id(inbound)
    pmid = provider_message_id(inbound)
    conversation = conversation_id if conversation_id is not None else inbound.conversation_id
    if conversation is None:
        if inbound.channel == "sms":
            conversation = sms_conversation_id(
                inbound.practice_id, inbound.line, inbound.sender, pmid, bool(recognized)
            )
        elif inbound.channel == "voicemail":
            conversation = voicemail_conversation_id(
                inbound.practice_id, inbound.line, inbound.sender, pmid, bool(recognized)
            )
        elif inbound.channel == "email":
            conversation = eid
        else:
            raise ValueError("a patient page message needs its conversation")
    hints = inbound.thread
    return MessageReceived(
        event_id=eid,
        occurred_at=inbound.received_at,
        practice_id=inbound.practice_id,
        correlation_id=eid,
        message_id=eid,
        conversation_id=conversation,
        channel=inbound.channel,
        sender=inbound.sender,
        recipient=inbound.line,
        provider=inbound.provider,
        provider_message_id=pmid,
        received_at=inbound.received_at,
        body=inbound.body,
        subject=inbound.subject,
        attachments=inbound.attachments,
        patient_id=inbound.patient_id,
        selected_reason=inbound.selected_reason,
        voicemail_extension=inbound.voicemail_extension,
        email_threading=(
            EmailThreading(
                message_id=hints.message_id,
                in_reply_to=hints.in_reply_to,
                references=hints.references,
            )
            if hints is not None
            else None
        ),
        line_label=inbound.line_label,
    )
