"""Gateway-owned tables (schema `gateway`). The inbox read models are read in readmodel/,
from whichever generation is live (the projection owns their tables)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

SCHEMA = "gateway"
metadata = MetaData(schema=SCHEMA)

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("policies", ARRAY(Text), nullable=False, server_default=text("'{}'")),
)

# T-3: every read of a conversation by a person or API client.
access_log = Table(
    "access_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("practice_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=False),
    Column("action", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("access_log_conversation", "practice_id", "conversation_id", "at"),
)

# Saved routing proposals (X-WHATIF-1c): a what-if's settings and subscriptions, kept to be
# replayed again and applied in one step (then one RoutingProposalApplied event).
routing_proposals = Table(
    "routing_proposals",
    metadata,
    Column("proposal_id", UUID(as_uuid=True), primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("applied_by", Text),
    Column("applied_at", DateTime(timezone=True)),
    Column("applied_event_id", UUID(as_uuid=True)),
    Index("routing_proposals_practice", "practice_id", "created_at"),
)
