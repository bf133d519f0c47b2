"""Router handlers: apply a batch of events to the router's state and emit decisions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageReceived, MessageRouted, RuleFired, deterministic_id
from switchboard.router import storage


def foundation_decision(message: MessageReceived) -> MessageRouted:
    """Every message lands in Unassigned, reason Other, location unknown (R-SUB-2)."""
    return MessageRouted.derive(
        message,
        event_id=deterministic_id(message.event_id, "router"),
        occurred_at=message.received_at,
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        patient_id=message.patient_id,
        reason="other",
        reason_source="none",
        location_source="unknown",
        inboxes=("unassigned",),
        decided_at=message.received_at,
        explanation=(
            RuleFired(rule="R-SUB-2", outcome="unassigned", inputs={"channel": message.channel}),
        ),
    )


async def handle_batch(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if isinstance(event, MessageReceived):
            decision = foundation_decision(event)
            await session.execute(
                insert(storage.conversations)
                .values(
                    conversation_id=event.conversation_id,
                    practice_id=event.practice_id,
                    patient_id=event.patient_id,
                    reason=decision.reason,
                    reason_set_at=event.received_at,
                    last_patient_message_at=event.received_at,
                    status="open",
                )
                .on_conflict_do_update(
                    index_elements=[storage.conversations.c.conversation_id],
                    set_={
                        "reason": decision.reason,
                        "last_patient_message_at": event.received_at,
                        "status": "open",
                    },
                )
            )
            await session.execute(
                insert(storage.decisions)
                .values(
                    event_id=decision.event_id,
                    practice_id=decision.practice_id,
                    conversation_id=decision.conversation_id,
                    message_id=decision.message_id,
                    decided_at=decision.decided_at,
                    decision=decision.model_dump(mode="json"),
                )
                .on_conflict_do_nothing()
            )
            out.append(decision)
    return out
