"""Idempotency keys on staff actions (I-DELIV-6): the `Idempotency-Key` header (IETF
httpapi draft) and the ids a reply sent under one gets; shared by routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header

from switchboard.events import deterministic_id
from switchboard.gateway.auth import Principal

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="The same key from the same user on the same conversation sends once: "
        "a repeat gets the first request's result.",
    ),
]


def reply_ids(p: Principal, conversation_id: uuid.UUID, key: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The event and message ids of a reply sent under an Idempotency-Key (I-DELIV-6):
    derived from who sent it where and the key, so a repeat is the same event (the projection
    applies it once) and the same message (ingest sends it once, keyed by message id)."""
    base = (p.practice_id, "reply", p.user_id, str(conversation_id), key)
    return deterministic_id(*base, "event"), deterministic_id(*base, "message")
