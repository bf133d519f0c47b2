"""Synthetic inbox traffic for the inbox benchmarks: patients with care teams, and SMS
conversations each with its message and its routing decision (like the router's)."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from switchboard.events import (
    Event,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    deterministic_id,
)

PG_PORT = int(os.environ.get("PG_PORT", "55432"))
KAFKA = os.environ.get("SWITCHBOARD_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
PRACTICE = "bench"
START = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = [f"u-{i}" for i in range(40)]
REASONS = ["prescriptions_refills", "test_lab_results", "billing", "appointments", "other"]
LOCATIONS = ["loc-0", "loc-1", "loc-2", None]


def _ids(*parts: object) -> dict[str, object]:
    eid = deterministic_id("inbox-bench", *map(str, parts))
    return {"event_id": eid, "correlation_id": eid, "practice_id": PRACTICE}


def patients(count: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    out: list[Event] = []
    for i in range(count):
        team = tuple(rng.sample(STAFF, 3))
        out.append(
            PatientUpserted(
                **_ids("patient", i),  # type: ignore[arg-type]
                occurred_at=START,
                patient_id=f"pat-{i}",
                given_name=f"Given{i}",
                family_name=f"Family{i % 997}",
                phones=(f"+1646{i:07d}",),
                care_team=team,
                primary_contact=team[0],
                source_updated_at=START,
            )
        )
    return out


def conversations(
    count: int, patient_count: int, seed: int = 11, offset: int = 0
) -> Iterator[tuple[MessageReceived, MessageRouted]]:
    """One message and its decision per conversation; 1 in 10 unrecognized."""
    rng = random.Random(seed + offset)
    for i in range(offset, offset + count):
        p = rng.randrange(patient_count)
        unrecognized = i % 10 == 0
        sender = f"+1917{i:07d}" if unrecognized else f"+1646{p:07d}"
        at = START + timedelta(seconds=i * 3)
        cid = deterministic_id("inbox-bench", "conv", i)
        mid = deterministic_id("inbox-bench", "msg", i)
        received = MessageReceived(
            **_ids("received", i),  # type: ignore[arg-type]
            occurred_at=at,
            message_id=mid,
            conversation_id=cid,
            channel="sms",
            sender=sender,
            recipient="+12125550000",
            provider="bench",
            provider_message_id=f"SM{i}",
            received_at=at,
            body=f"Hello, message number {i} about my {rng.choice(REASONS).replace('_', ' ')}",
        )
        assignee = rng.choice(STAFF) if i % 3 == 0 else None
        routed = MessageRouted(
            **_ids("routed", i),  # type: ignore[arg-type]
            occurred_at=at + timedelta(milliseconds=20),
            message_id=mid,
            conversation_id=cid,
            patient_id=None if unrecognized else f"pat-{p}",
            reason=rng.choice(REASONS),
            reason_source="patient_pick",
            location_id=rng.choice(LOCATIONS),
            recipients=tuple(rng.sample(STAFF, 2)),
            inboxes=("unassigned",) + (("shared:refills",) if i % 4 == 0 else ()),
            assignee=assignee,
            matched_patient_ids=(f"pat-{p}", f"pat-{(p + 1) % patient_count}")
            if unrecognized
            else (),
            decided_at=at + timedelta(milliseconds=20),
        )
        yield received, routed


def scratch_database(prefix: str) -> tuple[str, str]:
    """A fresh database; returns (url, name)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/{name}", name


def drop_database(name: str) -> None:
    admin = create_engine(
        f"postgresql+psycopg://switchboard@127.0.0.1:{PG_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
