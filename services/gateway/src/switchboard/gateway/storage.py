"""Gateway-owned tables (schema `gateway`). The inbox read models are read in readmodel/,
from whichever generation is live (the projection owns their tables)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
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

# T-3: every read of a conversation by a person or API client, and every call by an API
# client (conversation_id then only when the route names one; action "api <METHOD> <route>").
access_log = Table(
    "access_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("practice_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=True), nullable=True),
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

# API clients (api_clients.py, ADR 0024): the secret only as an argon2 hash.
api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("practice_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("secret_version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("rotated_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    Index("api_clients_practice", "practice_id"),
)

# Failed sign-ins and token requests (sign_in_limit.py): the key only as an HMAC.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("key_hash", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("sign_in_failures_key", "key_hash", "failed_at"),
    Index("sign_in_failures_at", "failed_at"),
)
