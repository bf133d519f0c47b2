"""The FHIR side of pm-sync at run time: one polling loop per configured practice, and the
on-demand "Sync with EHR" pull. (What a resource means is domain/fhir_mapping.py; this is I/O.)

Per practice and resource type (Location, Practitioner, Patient, CareTeam, Appointment, in
that order): read the cursor from pm_sync.fhir_cursors, page through what changed since,
publish each page's events (acks=all) and dead-letter its invalid resources, and save the
cursor only once the type is read to the end. A crash in between re-reads from the old
cursor; event ids are deterministic, so the re-read events collapse downstream.

A server that is down or answers 5xx is retried by the poller with backoff; when a poll
still fails, the practice is marked failing (/readyz: degraded, with the reason) and polled
again after a growing delay, until it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from switchboard.events import Topic
from switchboard.platform.consumer import is_transient
from switchboard.platform.http import NotReady
from switchboard.platform.kafka import Publisher, PublishError
from switchboard.platform.logging import get_logger, scrub
from switchboard.platform.readiness import RECHECK_EVERY_S, Backoff
from switchboard.pm_sync.adapters import queries
from switchboard.pm_sync.adapters.fhir_client import FhirPoller
from switchboard.pm_sync.domain.fhir_bundle import PollResult, newest_cursor
from switchboard.pm_sync.domain.fhir_mapping import RESOURCE_TYPES
from switchboard.pm_sync.settings import FhirPractice, PmSyncSettings

log = get_logger(__name__)

DEAD_LETTER_SOURCE = "pm-sync-fhir"


class FhirUnavailable(RuntimeError):
    """The FHIR server could not be read; the text says why (no patient data)."""


@dataclass
class Counts:
    events: int = 0
    invalid: int = 0
    ignored: int = 0
    pages: int = 0

    def add(self, page: PollResult) -> None:
        self.events += len(page.events)
        self.invalid += len(page.invalid)
        self.ignored += page.ignored
        self.pages += page.pages


@dataclass
class PracticeStatus:
    last_error: str | None = None
    failures: int = 0
    last_success_at: datetime | None = None
    polls: int = 0
    counts: dict[str, Counts] = field(default_factory=dict)
    # What the last failure was waiting for ("database", "fhir", "kafka"; None: a bug), when
    # (monotonic), and when readiness last found that dependency answering again.
    dependency: str | None = None
    failed_at: float = 0.0
    probed_at: float = float("-inf")
    back_at: float = float("-inf")

    def fail(self, error: str, dependency: str | None) -> None:
        self.failures += 1
        self.last_error = error
        self.dependency = dependency
        self.failed_at = time.monotonic()


def failed_dependency(exc: BaseException) -> str | None:
    """Which dependency a failed poll waited for (None: not a dependency, a bug)."""
    if isinstance(exc, FhirUnavailable):
        return "fhir"
    if isinstance(exc, PublishError):
        return "kafka"
    if isinstance(exc, SQLAlchemyError | OSError) and is_transient(exc):
        return "database"
    return None


def dead_letter_headers(
    practice_id: str, resource_type: str, resource_id: str, reason: str, source: str
) -> list[tuple[str, bytes]]:
    """The consumer policy's `dlq.*` headers, for a resource that never became an event."""
    return [
        ("dlq.consumer", DEAD_LETTER_SOURCE.encode()),
        ("dlq.error", scrub(reason).encode()[:2000]),
        ("dlq.source", source.encode()[:500]),
        ("dlq.attempts", b"0"),
        ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ("practice_id", practice_id.encode()),
        ("fhir.resource", f"{resource_type}/{resource_id}".encode()[:300]),
        ("content-type", b"application/fhir+json"),
    ]


class FhirSync:
    def __init__(
        self,
        settings: PmSyncSettings,
        publisher: Publisher,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.sessionmaker = sessionmaker
        self.sleep = sleep
        # Per practice: its loop's wait, cut short by readiness once the dependency is back.
        self._backoff: dict[str, Backoff] = {}
        self.status: dict[str, PracticeStatus] = {
            p.practice_id: PracticeStatus() for p in settings.fhir_practices
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(timeout=settings.fhir_timeout_s)

    # --- one pull -----------------------------------------------------------------------

    def poller(self, practice: FhirPractice, max_attempts: int | None = None) -> FhirPoller:
        token = practice.token.get_secret_value() if practice.token else None
        return FhirPoller(
            practice.base_url,
            practice.practice_id,
            token=token,
            client=self._client,
            page_size=practice.page_size,
            max_attempts=max_attempts or self.settings.fhir_max_attempts,
            backoff_initial_s=self.settings.fhir_backoff_initial_s,
            backoff_max_s=min(self.settings.fhir_backoff_max_s, 15.0),
        )

    async def dead_letter(
        self, practice: FhirPractice, resource_type: str, page: PollResult
    ) -> None:
        if not page.invalid:
            return
        topic = self.settings.topic(Topic.DEAD_LETTER)
        futures: list[Any] = []
        try:
            await self._send_dead_letters(practice, resource_type, page, topic, futures)
        except TimeoutError as exc:
            raise PublishError("Kafka did not acknowledge the dead letters in time") from exc
        except Exception as exc:
            if exc.__class__.__module__.startswith("aiokafka"):
                raise PublishError(f"Kafka refused the write: {type(exc).__name__}") from exc
            raise
        for resource, reason in page.invalid:
            log.warning(
                "fhir_resource_dead_lettered",
                practice_id=practice.practice_id,
                resource_type=resource_type,
                resource_id=str(resource.get("id") or "?")[:64],
                reason=reason,
            )

    async def _send_dead_letters(
        self,
        practice: FhirPractice,
        resource_type: str,
        page: PollResult,
        topic: str,
        futures: list[Any],
    ) -> None:
        async with asyncio.timeout(self.settings.publish_timeout_s):
            for resource, reason in page.invalid:
                rid = str(resource.get("id") or "?")[:64]
                source = f"fhir:{practice.practice_id}:{resource_type}/{rid}"
                futures.append(
                    await self.publisher.producer.send(
                        topic,
                        value=json.dumps(resource, default=str).encode(),
                        key=f"{practice.practice_id}:fhir:{resource_type}:{rid}".encode(),
                        headers=dead_letter_headers(
                            practice.practice_id, resource_type, rid, reason, source
                        ),
                    )
                )
            await asyncio.gather(*futures)

    async def pull(
        self, practice: FhirPractice, resource_type: str, cursor: str | None, poller: FhirPoller
    ) -> tuple[Counts, str | None]:
        """Every page of `resource_type` changed after `cursor`: publish, dead-letter.
        Returns the counts and the newest cursor seen (raises FhirUnavailable, PublishError)."""
        counts = Counts()
        newest = cursor
        try:
            async for page in poller.pages(resource_type, cursor):
                await self.publisher.publish(page.events)
                await self.dead_letter(practice, resource_type, page)
                counts.add(page)
                newest = newest_cursor(newest, page.cursor)
        except PublishError:
            raise
        except (RuntimeError, httpx.HTTPError) as exc:
            raise FhirUnavailable(f"{resource_type}: {exc}") from None
        return counts, newest

    async def poll_once(
        self, practice: FhirPractice, types: Sequence[str] = RESOURCE_TYPES
    ) -> dict[str, Counts]:
        """One incremental poll of every type, from the stored cursors."""
        poller = self.poller(practice)
        out: dict[str, Counts] = {}
        for resource_type in types:
            async with self.sessionmaker() as session:
                cursor = await queries.load_cursor(session, practice.practice_id, resource_type)
            counts, newest = await self.pull(practice, resource_type, cursor, poller)
            if newest and newest != cursor:
                async with self.sessionmaker() as session, session.begin():
                    await queries.save_cursor(session, practice.practice_id, resource_type, newest)
            out[resource_type] = counts
        return out

    async def sync_now(
        self, practice_id: str, types: Sequence[str] = ("Location", "Practitioner")
    ) -> dict[str, Counts]:
        """ "Sync with EHR": everything of `types`, now, from the start (cursors untouched)."""
        practice = self.settings.fhir_practice(practice_id)
        if practice is None:
            raise KeyError(practice_id)
        poller = self.poller(practice, max_attempts=min(self.settings.fhir_max_attempts, 3))
        out: dict[str, Counts] = {}
        for resource_type in types:
            out[resource_type], _ = await self.pull(practice, resource_type, None, poller)
        return out

    # --- the loops ----------------------------------------------------------------------

    async def _wait(self, practice_id: str, seconds: float) -> None:
        if self.sleep is not None:
            await self.sleep(seconds)
        else:
            await self._backoff.setdefault(practice_id, Backoff()).sleep(seconds)

    async def run_practice(self, practice: FhirPractice) -> None:
        status = self.status.setdefault(practice.practice_id, PracticeStatus())
        while True:
            try:
                counts = await self.poll_once(practice)
            except Exception as exc:
                if isinstance(exc, asyncio.CancelledError):
                    raise
                dependency = failed_dependency(exc)
                if dependency is None:  # a bug must not kill the loop silently
                    status.fail(f"internal error ({type(exc).__name__})", None)
                    log.exception("fhir_poll_crashed", practice_id=practice.practice_id)
                    await self._wait(practice.practice_id, self.settings.fhir_backoff_max_s)
                    continue
                status.fail(f"{type(exc).__name__}: {exc}"[:300], dependency)
                delay = min(
                    self.settings.fhir_backoff_initial_s * 2 ** min(status.failures, 16),
                    self.settings.fhir_backoff_max_s,
                )
                log.warning(
                    "fhir_poll_failed",
                    practice_id=practice.practice_id,
                    error=status.last_error,
                    failures=status.failures,
                    retry_in_s=round(delay, 2),
                )
                await self._wait(practice.practice_id, delay)
                continue
            status.failures = 0
            status.last_error = None
            status.last_success_at = datetime.now(UTC)
            status.polls += 1
            status.counts = counts
            log.info(
                "fhir_poll_done",
                practice_id=practice.practice_id,
                events=sum(c.events for c in counts.values()),
                invalid=sum(c.invalid for c in counts.values()),
            )
            await self._wait(practice.practice_id, practice.interval_s)

    def start(self) -> None:
        for practice in self.settings.fhir_practices:
            name = f"fhir-{practice.practice_id}"
            self._tasks.append(asyncio.create_task(self.run_practice(practice), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._client.aclose()

    async def ready(self) -> bool:
        """Readiness: every poller alive and its last poll good (NotReady names the reason)."""
        dead = [t.get_name() for t in self._tasks if t.done()]
        if dead:
            raise NotReady(f"FHIR poller stopped: {', '.join(dead)}")
        failing = {
            p: s.last_error
            for p, s in self.status.items()
            if s.last_error and not await self._dependency_back(p, s)
        }
        if failing:
            raise NotReady(
                "; ".join(f"{practice}: {error}" for practice, error in sorted(failing.items()))
            )
        return True

    async def _dependency_back(self, practice_id: str, status: PracticeStatus) -> bool:
        """Whether what the last poll failed on answers again: asked of the dependency
        itself (at most once per RECHECK_EVERY_S), not read from that poll's error, which
        stays until the next poll, up to fhir_backoff_max_s later. When it is back, the
        loop polls now."""
        if status.back_at > status.failed_at:
            return True  # found back since the failure; the poll under way will tell
        now = time.monotonic()
        if status.dependency is None or now - status.probed_at < RECHECK_EVERY_S:
            return False
        status.probed_at = now
        try:
            async with asyncio.timeout(2.0):
                await self._probe(practice_id, status.dependency)
        except Exception:
            return False
        status.back_at = time.monotonic()
        self._backoff.setdefault(practice_id, Backoff()).wake()
        log.info("fhir_dependency_back", practice_id=practice_id, dependency=status.dependency)
        return True

    async def _probe(self, practice_id: str, dependency: str) -> None:
        if dependency == "database":
            async with self.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        elif dependency == "kafka":
            client = self.publisher.producer.client
            node = client.get_random_node() if self.publisher.connected else None
            if node is None or not await client.ready(node):
                raise PublishError("Kafka unreachable")
        else:
            practice = self.settings.fhir_practice(practice_id)
            if practice is None:
                raise KeyError(practice_id)
            token = practice.token.get_secret_value() if practice.token else None
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            url = f"{practice.base_url.rstrip('/')}/metadata"
            response = await self._client.get(url, headers=headers)
            if response.status_code >= 500:
                raise FhirUnavailable(f"metadata answered {response.status_code}")

    def describe(self) -> dict[str, Any]:
        return {
            p: {
                "last_error": s.last_error,
                "failures": s.failures,
                "polls": s.polls,
                "last_success_at": s.last_success_at.isoformat() if s.last_success_at else None,
            }
            for p, s in self.status.items()
        }
