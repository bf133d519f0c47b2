"""The FHIR Communication writer's HTTP side (X-FHIR-2): a conditional create
(`POST {base}/Communication` with `If-None-Exist: identifier=<system>|<message id>`),
retried with backoff on 5xx, 429, timeouts and connection errors.

`FhirServerUnavailable` is a ConnectionError on purpose: the consumer policy
(platform/consumer.py) treats it like the database being away, so the batch is retried,
with backoff, until the server answers, and its offsets are not committed meanwhile.
`CommunicationRejected` is the server refusing this resource for good (a 4xx that sending
again cannot fix): the caller dead-letters it. Neither text carries a value of the resource.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter

from switchboard.platform.logging import get_logger
from switchboard.pm_sync.domain.fhir_communication import (
    classify,
    identifier_query,
    outcome_elements,
    server_id,
)

log = get_logger(__name__)

# Labels are outcomes and HTTP classes only: never a practice's patient or message.
COMMUNICATIONS = Counter(
    "switchboard_pm_fhir_communications_total",
    "FHIR Communications written (created, exists: found by its identifier, rejected, invalid)",
    ["outcome"],
)
COMMUNICATION_RETRIES = Counter(
    "switchboard_pm_fhir_communication_retries_total",
    "Conditional creates retried (problem: 5xx, 429, 4xx-setup, timeout, connection)",
    ["problem"],
)


class FhirServerUnavailable(ConnectionError):
    """The FHIR server did not take the Communication after retries (no patient data)."""


class CommunicationRejected(ValueError):
    """The server refused the Communication for good; the text names elements, not values."""


@dataclass(frozen=True, slots=True)
class Written:
    server_id: str | None
    existed: bool  # the server already held one with this identifier


class CommunicationWriter:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_attempts: int = 3,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._sleep = sleep

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff_initial_s * 2 ** (attempt - 1), self.backoff_max_s)
        return base * random.uniform(0.5, 1.0)

    async def create(
        self,
        base_url: str,
        token: str | None,
        message_id: uuid.UUID,
        resource: Mapping[str, Any],
    ) -> Written:
        url = f"{base_url.rstrip('/')}/Communication"
        headers = {
            "Content-Type": "application/fhir+json",
            "Accept": "application/fhir+json",
            "Prefer": "return=representation",
            "If-None-Exist": identifier_query(message_id),
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = await self._client.post(url, json=dict(resource), headers=headers)
            except httpx.TimeoutException:
                problem = "timeout"
            except httpx.TransportError as exc:
                problem = f"connection error ({type(exc).__name__})"
            else:
                outcome = classify(response.status_code)
                body = _json(response)
                if outcome in ("created", "exists"):
                    COMMUNICATIONS.labels(outcome).inc()
                    return Written(
                        server_id(body, response.headers.get("Location")), outcome == "exists"
                    )
                if outcome == "reject":
                    COMMUNICATIONS.labels("rejected").inc()
                    raise CommunicationRejected(
                        f"HTTP {response.status_code}: {outcome_elements(body)}"
                    )
                problem = f"HTTP {response.status_code}"
            COMMUNICATION_RETRIES.labels(_problem_label(problem)).inc()
            if attempt < self.max_attempts:
                delay = self._delay(attempt)
                log.warning(
                    "fhir_communication_retry", problem=problem, attempt=attempt, delay_s=delay
                )
                await self._sleep(delay)
        raise FhirServerUnavailable(
            f"FHIR server did not take the Communication after {self.max_attempts} attempts:"
            f" {problem}"
        )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _problem_label(problem: str) -> str:
    if problem.startswith("HTTP 5"):
        return "5xx"
    if problem == "HTTP 429":
        return "429"
    if problem.startswith("HTTP"):
        return "4xx-setup"
    return "timeout" if problem == "timeout" else "connection"
