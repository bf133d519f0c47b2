"""Support for the inbox tests: run a service as a real process, the gateway and ingest in
process, staff users, and event builders."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from switchboard.events import PatientUpserted, deterministic_id
from switchboard.platform.settings import ServiceSettings

T = TypeVar("T")
PRACTICE = "demo"
OTHER = "other"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """`switchboard-<name> run` as a process on a free port (and its internal API on another:
    `internal_url`; `env` gives it its SWITCHBOARD_INTERNAL_* credentials)."""

    def __init__(self, name: str, settings: ServiceSettings, group_prefix: str, **env: str):
        self.name = name
        self.port = free_port()
        self.internal_port = free_port()
        self.env = {
            **os.environ,
            "SWITCHBOARD_ENV": "dev",  # a test run: warn about secrets, never refuse
            "SWITCHBOARD_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SWITCHBOARD_DATABASE_URL": settings.database_url,
            "SWITCHBOARD_TOPIC_PREFIX": settings.topic_prefix,
            "SWITCHBOARD_CONSUMER_GROUP_PREFIX": group_prefix,
            "SWITCHBOARD_HTTP_PORT": str(self.port),
            "SWITCHBOARD_INTERNAL_HTTP_PORT": str(self.internal_port),
            "SWITCHBOARD_CONSUMER_BACKOFF_INITIAL_S": "0.01",
            "SWITCHBOARD_CONSUMER_BACKOFF_MAX_S": "0.05",
            "SWITCHBOARD_CONSUMER_MAX_ATTEMPTS": "2",
            "SWITCHBOARD_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.internal_url = f"http://127.0.0.1:{self.internal_port}"

    def start(self, timeout_s: float = 240) -> None:
        exe = os.path.join(os.path.dirname(sys.executable), f"switchboard-{self.name}")
        # As a release does: `migrate` first (run never migrates), then the service.
        subprocess.run([exe, "migrate"], env=self.env, check=True)
        self.proc = subprocess.Popen([exe, "run"], env=self.env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} did not become ready")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


@contextlib.asynccontextmanager
async def in_process(app: FastAPI, base: str) -> AsyncIterator[httpx.AsyncClient]:
    """An ASGI app with its lifespan (engine, producer) and a client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=30) as client:
            yield client


async def eventually(
    fn: Callable[[], Awaitable[T]], timeout_s: float = 30, every: float = 0.1
) -> T:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last  # type: ignore[no-any-return]
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met in {timeout_s}s (last: {last!r})")


def user(
    user_id: str, role: str, policies: tuple[str, ...] = (), practice: str = PRACTICE
) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "practice_id": practice,
        "username": f"{user_id}@{practice}",
        "display_name": user_id,
        "password": f"pw-{user_id}",
        "role": role,
        "policies": list(policies),
    }


def patient(
    patient_id: str,
    given: str,
    family: str,
    *,
    phones: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
    care_team: tuple[str, ...] = (),
    primary: str | None = None,
    at: datetime | None = None,
) -> PatientUpserted:
    at = at or datetime.now(UTC)
    eid = deterministic_id("inbox-it", "patient", patient_id, at.isoformat())
    return PatientUpserted(
        event_id=eid,
        correlation_id=eid,
        occurred_at=at,
        practice_id=PRACTICE,
        patient_id=patient_id,
        given_name=given,
        family_name=family,
        phones=phones,
        emails=emails,
        care_team=care_team,
        primary_contact=primary,
        source_updated_at=at,
    )


def phone() -> str:
    return f"+1212{uuid.uuid4().int % 10_000_000:07d}"
