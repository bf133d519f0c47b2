"""Messages accepted while the database was away (ADR 0008): the look-ups the webhook could
not do, done by ingest's `ingest-intake` consumer once the database is back, with the same
rules and the same queries, so each message gets the conversation it would have had.

- SMS / voicemail: is the sender exactly one patient's (I-THREAD-1)? Then the patient's
  thread on that line, else a communication of its own (domain/received.py).
- Email: the thread its In-Reply-To / References name (queries.email_conversation), and
  the message recorded so later replies thread to it (queries.record_email).

The MessageReceived published keeps the event id the webhook would have published, so a
provider retry that got through directly and the deferred copy are one message downstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageDeferred, MessageReceived
from switchboard.ingest.adapters import queries
from switchboard.ingest.domain.inbound import thread_ids
from switchboard.ingest.domain.received import conversation_of
from switchboard.rules.contacts import contact_key, recognized

TEXTS = ("sms", "voicemail")


async def resolve(
    session: AsyncSession, message: MessageReceived, owners: Mapping[tuple[str, str], int]
) -> MessageReceived:
    """`message` with the conversation ingest would have given it with its database up;
    `owners` counts the patients of each (practice, contact key) of the batch's texts."""
    if message.channel in TEXTS:
        key = (message.practice_id, contact_key(message.sender))
        conversation = conversation_of(message, recognized(owners.get(key, 0)))
    elif message.channel == "email" and message.email_threading is not None:
        threading = message.email_threading
        conversation = await queries.email_conversation(
            session,
            message.practice_id,
            threading.message_id,
            thread_ids(threading.in_reply_to, threading.references),
            message.sender,
        )
        await queries.record_email(
            session,
            practice_id=message.practice_id,
            message_id=threading.message_id,
            conversation_id=conversation,
            direction="in",
            party=message.sender,
            subject=message.subject,
            at=message.received_at,
        )
    else:  # nothing else is ever deferred; published as it came
        return message
    return message.model_copy(update={"conversation_id": conversation})


async def handle(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    """The `ingest-intake` consumer: each deferred message, resolved, in log order (an email
    recorded here is found by a later one of the same batch). The texts' senders are looked up
    in one query for the batch."""
    messages = [e.message for e in events if isinstance(e, MessageDeferred)]
    keys = {(m.practice_id, contact_key(m.sender)) for m in messages if m.channel in TEXTS}
    owners = await queries.contact_owner_counts(session, list(keys)) if keys else {}
    return [await resolve(session, m, owners) for m in messages]
