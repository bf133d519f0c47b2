"""The FHIR R4 client: `FhirPoller` pulls changed resources from a FHIR server page by page
(httpx), and maps each page with domain/fhir_bundle.py."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from switchboard.platform.logging import get_logger
from switchboard.pm_sync.domain.fhir_bundle import PollResult, map_bundle
from switchboard.pm_sync.domain.fhir_mapping import RESOURCE_TYPES

log = get_logger(__name__)


class FhirPollError(RuntimeError):
    """The server could not be read (after retries). `partial` holds the pages read so far;
    its cursor is the one the poll started from, so the next poll re-reads them (the
    deterministic event ids make that harmless)."""

    def __init__(self, message: str, partial: PollResult) -> None:
        super().__init__(message)
        self.partial = partial


TokenSource = str | Callable[[], str | Awaitable[str]] | None


class FhirPoller:
    """Pulls resources changed since a cursor: `GET {base}/{type}?_lastUpdated=gt{cursor}
    &_sort=_lastUpdated&_count=N`, then every `link[relation=next]` (same server only).

    Retries 5xx, 429 and connection errors with exponential backoff; on 401 it asks a
    callable token source once for a fresh token. Other 4xx fail at once.
    """

    def __init__(
        self,
        base_url: str,
        practice_id: str,
        *,
        token: TokenSource = None,
        client: httpx.AsyncClient | None = None,
        page_size: int = 100,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 15.0,
        timeout_s: float = 30.0,
        max_pages: int = 10_000,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.practice_id = practice_id
        self._token_source = token
        self._token: str | None = token if isinstance(token, str) else None
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout_s)
        self.page_size = page_size
        self.max_attempts = max(1, max_attempts)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.max_pages = max_pages
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)

    async def __aenter__(self) -> FhirPoller:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def _bearer(self, refresh: bool = False) -> str | None:
        source = self._token_source
        if source is None:
            return None
        if isinstance(source, str):
            return source
        if self._token is None or refresh:
            value = source()
            self._token = await value if isinstance(value, Awaitable) else value
        return self._token

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.backoff_max_s)
        base = min(self.backoff_initial_s * 2 ** (attempt - 1), self.backoff_max_s)
        return base * random.uniform(0.5, 1.0)

    async def _get(self, url: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        refreshed = False
        last_problem = ""
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            headers = {"Accept": "application/fhir+json"}
            token = await self._bearer()
            if token:
                headers["Authorization"] = f"Bearer {token}"
            retry_after = None
            try:
                response = await self._client.get(url, params=params, headers=headers)
            except httpx.TransportError as exc:
                last_problem = f"connection error ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    try:
                        body = response.json()
                    except ValueError:
                        raise RuntimeError("FHIR server answered 200 with no JSON") from None
                    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
                        raise RuntimeError("FHIR server answered 200 without a Bundle")
                    return body
                if response.status_code == 401 and callable(self._token_source) and not refreshed:
                    refreshed = True
                    await self._bearer(refresh=True)
                    attempt -= 1  # a token refresh is not a failed attempt
                    continue
                if response.status_code < 500 and response.status_code != 429:
                    raise RuntimeError(f"FHIR server answered HTTP {response.status_code}")
                last_problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
            if attempt < self.max_attempts:
                delay = self._delay(attempt, retry_after)
                log.warning("fhir_retry", problem=last_problem, attempt=attempt, delay_s=delay)
                await asyncio.sleep(delay)
        raise RuntimeError(
            f"FHIR server unavailable after {self.max_attempts} attempts: {last_problem}"
        )

    def _same_server(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    async def pages(
        self, resource_type: str, cursor: str | None = None
    ) -> AsyncIterator[PollResult]:
        """One PollResult per Bundle page. Raises RuntimeError when a page cannot be read."""
        first: dict[str, str] = {"_sort": "_lastUpdated", "_count": str(self.page_size)}
        if cursor:
            first["_lastUpdated"] = f"gt{cursor}"
        params: dict[str, str] | None = first
        url = f"{self.base_url}/{resource_type}"
        seen: set[str] = set()
        for _ in range(self.max_pages):
            bundle = await self._get(url, params)
            page = map_bundle(bundle, self.practice_id, resource_type)
            page.resource_type = resource_type
            yield page
            next_url = next(
                (
                    link.get("url")
                    for link in bundle.get("link") or ()
                    if isinstance(link, Mapping) and link.get("relation") == "next"
                ),
                None,
            )
            if not next_url or next_url in seen:
                return
            if not self._same_server(next_url):
                raise RuntimeError("Bundle next link points to another server")
            seen.add(next_url)
            url, params = next_url, None
        raise RuntimeError(f"more than {self.max_pages} pages")

    async def poll(self, resource_type: str, cursor: str | None = None) -> PollResult:
        """Everything of `resource_type` changed after `cursor`: events, invalid resources
        and the new cursor (unchanged when nothing changed). Raises FhirPollError."""
        total = PollResult(resource_type=resource_type, cursor=cursor)
        try:
            async for page in self.pages(resource_type, cursor):
                total.merge(page)
        except (RuntimeError, httpx.HTTPError) as exc:
            partial = PollResult(
                resource_type, total.events, total.invalid, cursor, total.pages, total.ignored
            )
            raise FhirPollError(f"{resource_type}: {exc}", partial) from None
        log.info(
            "fhir_polled",
            resource_type=resource_type,
            pages=total.pages,
            events=len(total.events),
            invalid=len(total.invalid),
        )
        return total

    async def poll_all(
        self, cursors: Mapping[str, str | None] | None = None, types: Sequence[str] = RESOURCE_TYPES
    ) -> dict[str, PollResult]:
        """`poll` for each type in order (Location, Practitioner, Patient, CareTeam,
        Appointment); stops at the first type that fails (FhirPollError)."""
        cursors = cursors or {}
        return {t: await self.poll(t, cursors.get(t)) for t in types}
