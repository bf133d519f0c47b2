"""FHIR R4 Communication out (X-FHIR-2): the consumer group `pm-sync-fhir-out`.

It reads what makes a Communication, which arrives on several topics in any order:
MessageReceived (messages), MessageRouted (routing: the reason, the provider, often the
patient), ConversationLinked and ReplyRequested (actions), ReplySent (delivery), ReasonAdded
(config: labels). Each batch records those facts (adapters/fhir_out_store.py) and then, for
each conversation it touched, publishes the messages that became ready, oldest first, by a
conditional create on the message id (adapters/fhir_writer.py), all before the consumer
commits the batch: offsets move only once the server answered. A crash after the server
answered and before the commit redelivers the batch; the create finds the first
Communication by its identifier (200) instead of making a second.

- Only practices with a FHIR base URL in `SWITCHBOARD_FHIR_PRACTICES` and `communications`
  on; other practices' events are skipped (nothing stored).
- Unrecognized conversations: their messages wait, unpublished, until the conversation has
  a patient (ConversationLinked, or a later match), then go out with that patient as
  subject, oldest first. A conversation never linked is never published.
- A Communication fhir.resources rejects, or the server refuses for good (a 4xx it cannot
  fix), is marked rejected and dead-lettered (`dlq.consumer` pm-sync-fhir-writer; the reason
  names the element, never a value); the rest of the batch goes on.
- A server down, answering 5xx / 429, or timing out: retried with backoff, then the batch
  waits and is retried (FhirServerUnavailable is a transient error for the consumer policy);
  /readyz says the consumer is not ready meanwhile, as the FHIR poller does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.events import Event, MessageReceived, MessageRouted, Topic
from switchboard.events.actions import ConversationLinked, ReplyRequested
from switchboard.events.config import ReasonAdded
from switchboard.events.delivery import ReplySent
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger, scrub
from switchboard.pm_sync.adapters import fhir_out_store as store
from switchboard.pm_sync.adapters.fhir_writer import (
    COMMUNICATIONS,
    CommunicationRejected,
    CommunicationWriter,
)
from switchboard.pm_sync.domain.fhir_communication import (
    Answered,
    CommunicationInvalid,
    MessageFacts,
    build,
    reason_label,
    validate,
)
from switchboard.pm_sync.settings import FhirPractice, PmSyncSettings

log = get_logger(__name__)

# The writer's own dead letters (a Communication the server or fhir.resources refused) are
# FHIR resources, not events: named apart from the consumer group, whose replay topic takes
# events only. Re-sending one after a fix is by hand (docs/services/pm-sync.md).
DEAD_LETTER_SOURCE = "pm-sync-fhir-writer"
FHIR_OUT_TOPICS = [Topic.MESSAGES, Topic.ROUTING, Topic.ACTIONS, Topic.DELIVERY, Topic.CONFIG]


def dead_letter_headers(practice_id: str, message_id: uuid.UUID, reason: str) -> list[Any]:
    return [
        ("dlq.consumer", DEAD_LETTER_SOURCE.encode()),
        ("dlq.error", scrub(reason).encode()[:2000]),
        ("dlq.source", f"fhir-out:{practice_id}:Communication/{message_id}".encode()[:500]),
        ("dlq.attempts", b"1"),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ("practice_id", practice_id.encode()),
        ("fhir.resource", b"Communication"),
        ("content-type", b"application/fhir+json"),
    ]


class FhirOut:
    def __init__(
        self,
        settings: PmSyncSettings,
        publisher: Publisher,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.practices: dict[str, FhirPractice] = {
            p.practice_id: p for p in settings.fhir_practices if p.communications
        }
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=settings.fhir_timeout_s)
        self.writer = CommunicationWriter(
            self._client,
            max_attempts=settings.fhir_out_max_attempts,
            backoff_initial_s=settings.fhir_backoff_initial_s,
            backoff_max_s=min(settings.fhir_backoff_max_s, 15.0),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.practices)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def handle(self, session: AsyncSession, events: Sequence[Event]) -> list[Event]:
        """The consumer's batch handler: record the facts, publish what became ready."""
        touched: dict[tuple[str, uuid.UUID], None] = {}
        for event in events:
            practice = self.practices.get(event.practice_id)
            if practice is None:
                continue
            keep_body = practice.communication_payload == "full"
            if isinstance(event, MessageReceived):
                await store.received(session, event, keep_body)
            elif isinstance(event, MessageRouted):
                await store.routed(session, event)
            elif isinstance(event, ConversationLinked):
                await store.linked(session, event)
            elif isinstance(event, ReplyRequested):
                await store.reply_requested(session, event, keep_body)
            elif isinstance(event, ReplySent):
                await store.reply_sent(session, event)
            elif isinstance(event, ReasonAdded):
                await store.reason_added(session, event)
                continue
            else:
                continue
            conversation = getattr(event, "conversation_id", None)
            if isinstance(conversation, uuid.UUID):
                touched[(event.practice_id, conversation)] = None
        for practice_id, conversation in sorted(touched, key=lambda k: (k[0], str(k[1]))):
            await store.lock_conversation(session, practice_id, conversation)
            await self.publish_ready(session, self.practices[practice_id], conversation)
        return []

    async def publish_ready(
        self, session: AsyncSession, practice: FhirPractice, conversation: uuid.UUID
    ) -> int:
        rows = await store.ready(session, practice.practice_id, conversation)
        if not rows:
            return 0
        labels = await store.reason_labels(session, practice.practice_id)
        token = practice.token.get_secret_value() if practice.token else None
        for row in rows:
            answered = None
            if row.in_response_to is not None:
                known = await store.server_ids(session, practice.practice_id, [row.in_response_to])
                answered = Answered(row.in_response_to, known.get(row.in_response_to))
            facts = MessageFacts(
                message_id=row.message_id,
                direction="inbound" if row.direction == "inbound" else "outbound",
                channel=row.channel,
                patient_id=row.patient_id,
                reason=row.reason,
                reason_label=reason_label(row.reason, labels),
                at=row.at,
                body=row.body,
                subject=row.subject,
                attachments=row.attachments,
                staff_user=row.staff_user,
                provider_id=row.provider_id,
                in_response_to=answered,
            )
            resource = build(facts, practice.communication_payload)
            try:
                valid = validate(resource)
            except CommunicationInvalid as exc:
                COMMUNICATIONS.labels("invalid").inc()
                await self._reject(session, practice, row.message_id, resource, str(exc))
                continue
            try:
                written = await self.writer.create(practice.base_url, token, row.message_id, valid)
            except CommunicationRejected as exc:
                await self._reject(session, practice, row.message_id, valid, str(exc))
                continue
            await store.published(session, practice.practice_id, row.message_id, written.server_id)
            log.info(
                "fhir_communication_published",
                practice_id=practice.practice_id,
                message_id=str(row.message_id),
                direction=row.direction,
                existed=written.existed,
            )
        return len(rows)

    async def _reject(
        self,
        session: AsyncSession,
        practice: FhirPractice,
        message_id: uuid.UUID,
        resource: dict[str, Any],
        reason: str,
    ) -> None:
        await store.rejected(session, practice.practice_id, message_id, reason)
        topic = self.settings.topic(Topic.DEAD_LETTER)
        try:
            async with asyncio.timeout(self.settings.publish_timeout_s):
                await self.publisher.producer.send_and_wait(
                    topic,
                    value=json.dumps(resource, default=str).encode(),
                    key=f"{practice.practice_id}:fhir-out:{message_id}".encode(),
                    headers=dead_letter_headers(practice.practice_id, message_id, reason),
                )
        except TimeoutError as exc:
            raise PublishError("Kafka did not acknowledge the dead letter in time") from exc
        except Exception as exc:
            if exc.__class__.__module__.startswith("aiokafka"):
                raise PublishError(f"Kafka refused the write: {type(exc).__name__}") from exc
            raise
        log.warning(
            "fhir_communication_dead_lettered",
            practice_id=practice.practice_id,
            message_id=str(message_id),
            reason=reason,
        )
