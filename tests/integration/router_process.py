"""Run `switchboard-router` as a real process against the test Kafka and PostgreSQL, and
build the events the router reads. Shared by the router integration tests."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from switchboard.events import (
    AppointmentChanged,
    Event,
    LocationUpserted,
    MessageReceived,
    MessageRouted,
    PatientUpserted,
    RoutingSettingsChanged,
    StaffSubscriptionsSet,
    Topic,
    decode,
    deterministic_id,
)
from switchboard.platform.internal_api import dev_credentials
from switchboard.platform.settings import ServiceSettings

PRACTICE = "manhattan-medical"
NOW = datetime.now(UTC).replace(microsecond=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RouterProcess:
    """One router process; `stop()` kills it, `start()` runs it again on the same state.

    `url` is its public port (ops routes only), `internal_url` its internal API, which
    `get`/`post` call as the gateway; `credentials` are the run's internal tokens (ingest's
    too, for an ingest that asks this router)."""

    def __init__(self, settings: ServiceSettings, database_url: str, group_prefix: str) -> None:
        self.port = free_port()
        self.internal_port = free_port()
        self.credentials = dev_credentials()
        token = self.credentials["gateway"]["SWITCHBOARD_INTERNAL_TOKEN"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.env = {
            **os.environ,
            "SWITCHBOARD_ENV": "dev",  # a test run: warn about secrets, never refuse
            "SWITCHBOARD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix,
            "SWITCHBOARD_CONSUMER_GROUP_PREFIX": group_prefix,
            "SWITCHBOARD_HTTP_PORT": str(self.port),
            "SWITCHBOARD_INTERNAL_HTTP_PORT": str(self.internal_port),
            **self.credentials["router"],
            "SWITCHBOARD_CONSUMER_BACKOFF_INITIAL_S": "0.01",
            "SWITCHBOARD_CONSUMER_BACKOFF_MAX_S": "0.05",
            "SWITCHBOARD_CONSUMER_MAX_ATTEMPTS": "2",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.internal_url = f"http://127.0.0.1:{self.internal_port}"

    def start(self, timeout_s: float = 120) -> None:
        exe = os.path.join(os.path.dirname(sys.executable), "switchboard-router")
        # As a release does: `migrate` first (run never migrates), then the service.
        subprocess.run([exe, "migrate"], env=self.env, check=True)
        self.proc = subprocess.Popen([exe, "run"], env=self.env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"router exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("router did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.internal_url}/internal/practices/{PRACTICE}{path}",
            params=params,
            headers=self.auth,
            timeout=30,
        )

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.internal_url}/internal/practices/{PRACTICE}{path}",
            json=body,
            headers=self.auth,
            timeout=60,
        )


async def routed_until(
    settings: ServiceSettings,
    done: Callable[[list[MessageRouted]], bool],
    timeout_s: float = 30,
) -> list[MessageRouted]:
    """Read the routing topic from the start until `done(decisions)` holds."""
    consumer = AIOKafkaConsumer(
        settings.topic(Topic.ROUTING),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: dict[uuid.UUID, MessageRouted] = {}
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for r in records:
                        event = decode(r.value)
                        assert isinstance(event, MessageRouted)
                        seen.setdefault(event.event_id, event)
                found = list(seen.values())
                if done(found):
                    return found
    finally:
        await consumer.stop()


def _ids(*parts: str) -> dict[str, Any]:
    eid = deterministic_id("router-it", *parts)
    return {"event_id": eid, "correlation_id": eid, "practice_id": PRACTICE}


def settings_changed(name: str, at: datetime = NOW, **flags: bool) -> RoutingSettingsChanged:
    return RoutingSettingsChanged(
        occurred_at=at, actor="u-admin", **_ids("settings", name), **flags
    )


def subscribed(staff: str, at: datetime = NOW, **sets: tuple[str, ...]) -> StaffSubscriptionsSet:
    return StaffSubscriptionsSet(
        occurred_at=at,
        actor="u-admin",
        staff_id=staff,
        **_ids("sub", staff, at.isoformat()),
        **sets,
    )


def location(location_id: str) -> LocationUpserted:
    return LocationUpserted(
        occurred_at=NOW,
        location_id=location_id,
        name=location_id.title(),
        **_ids("loc", location_id),
    )


def patient(patient_id: str, *phones: str) -> PatientUpserted:
    return PatientUpserted(
        occurred_at=NOW,
        patient_id=patient_id,
        given_name="Test",
        family_name=patient_id,
        phones=phones,
        source_updated_at=NOW,
        **_ids("patient", patient_id),
    )


def appointment(
    appointment_id: str,
    patient_id: str,
    location_id: str,
    version: int,
    change: str = "booked",
    start: datetime | None = None,
    status: str = "booked",
) -> AppointmentChanged:
    return AppointmentChanged(
        occurred_at=NOW + timedelta(seconds=version),
        appointment_id=appointment_id,
        patient_id=patient_id,
        change=change,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        start=start or NOW + timedelta(days=3),
        location_id=location_id,
        source_updated_at=NOW + timedelta(seconds=version),
        source_version=version,
        **_ids("appt", appointment_id, str(version)),
    )


def message(
    name: str,
    sender: str,
    *,
    channel: str = "web_chat",
    patient_id: str | None = None,
    reason: str | None = None,
    at: datetime | None = None,
    conversation: str | None = None,
) -> MessageReceived:
    ids = _ids("message", name)
    return MessageReceived(
        occurred_at=at or NOW,
        message_id=deterministic_id("router-it", "mid", name),
        conversation_id=deterministic_id("router-it", "conv", conversation or sender),
        channel=channel,  # type: ignore[arg-type]
        sender=sender,
        recipient="+12125550100" if channel == "sms" else "portal",
        provider="test",
        provider_message_id=name,
        received_at=at or NOW,
        body="(test message)",
        patient_id=patient_id,
        selected_reason=reason,
        **ids,
    )


def by_message(decisions: list[MessageRouted], event: Event) -> MessageRouted | None:
    assert isinstance(event, MessageReceived)
    return next((d for d in decisions if d.message_id == event.message_id), None)
