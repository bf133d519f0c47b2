"""The envelope every event carries, and deterministic ids.

Event models are frozen pydantic models. Each concrete event fixes its `event_type` and
`version` with a Literal, registers itself, and says which partition key keeps its stream
in order (`partition_key`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Fixed namespace: ids derived from a source id are the same on every machine and every
# retry, so a redelivered webhook or a replay produces the same event id and collapses.
SWITCHBOARD_NAMESPACE = uuid.UUID("6f1c9a52-3b7e-4c8e-9d65-2a8f0e4b7c11")


def deterministic_id(*parts: str | uuid.UUID) -> uuid.UUID:
    """A UUIDv5 from the given parts, e.g. (practice, "twilio", provider message id)."""
    return uuid.uuid5(SWITCHBOARD_NAMESPACE, "|".join(str(p) for p in parts))


class Event(BaseModel):
    """Envelope fields shared by every event; subclasses add the payload fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Subclasses narrow these two to Literals; registry keys on (event_type, version).
    event_type: str
    version: int

    event_id: uuid.UUID
    occurred_at: AwareDatetime
    practice_id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    # W3C trace context, so a trace crosses Kafka hops even where headers are lost.
    traceparent: str | None = None

    # Kafka topic (logical name, see topics.Topic) that carries this event type.
    topic: ClassVar[str]
    # Fields holding patient data (content, demographics, addresses): the AsyncAPI document
    # flags the event `x-phi` (patient id fields are added to these automatically).
    phi_fields: ClassVar[frozenset[str]] = frozenset()

    def partition_key(self) -> str:
        """Key that keeps one stream in order; subclasses narrow it."""
        return self.practice_id

    @classmethod
    def derive(cls, cause: Event, **fields: Any) -> Any:
        """A new event caused by `cause`: same practice and correlation, causation = cause."""
        fields.setdefault("practice_id", cause.practice_id)
        fields.setdefault("correlation_id", cause.correlation_id)
        fields.setdefault("causation_id", cause.event_id)
        fields.setdefault("traceparent", cause.traceparent)
        return cls(**fields)

    def occurred(self) -> datetime:
        return self.occurred_at
