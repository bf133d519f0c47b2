"""Overload answers quickly: past `ingest_max_in_flight` requests at once on the
provider-facing doors, ingest refuses at once (HTTP 429 with Retry-After, SMTP 451) instead
of queueing work until the provider's own timeout. A provider retries a refusal; a request
left waiting costs memory and may be answered after the provider gave up.

Probes (/healthz, /readyz), /metrics and the internal API are never limited: an orchestrator
must still see the service alive while it sheds load.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

# Which door refused: a fixed set, never anything from the request (no patient data).
SHED = Counter(
    "switchboard_ingest_shed_total", "Requests refused because ingest was at capacity", ["door"]
)


class Gate:
    """A count of requests in flight, shared by every door. Pure: no I/O, no waiting -- a
    request that cannot enter is refused, never queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # 0: unlimited
        self.in_flight = 0

    def enter(self) -> bool:
        if self.limit and self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1


def door_of(path: str) -> str | None:
    """The door a request path is on, or None when it is not limited: webhooks (SMS,
    voicemail, status, email) and the patient page."""
    if path.startswith("/webhooks/"):
        return "webhook"
    if path.startswith("/patient/"):
        return "patient_page"
    return None


class InFlightLimit:
    """ASGI middleware: HTTP requests on the limited doors pass through `gate`."""

    def __init__(self, app: Any, gate: Gate, retry_after_s: int) -> None:
        self.app = app
        self.gate = gate
        self.retry_after = str(retry_after_s).encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        door = door_of(scope.get("path", "")) if scope["type"] == "http" else None
        if door is None:
            await self.app(scope, receive, send)
            return
        if not self.gate.enter():
            SHED.labels(door).inc()
            await _refuse(send, self.retry_after)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()


def outermost(app: Any, middleware: Any, **options: Any) -> None:
    """Wrap `app`'s whole middleware stack -- the ones added later and the tracing one the
    instrumentation wraps it in -- with `middleware`."""
    build = app.build_middleware_stack

    def build_with_limit() -> Any:
        return middleware(build(), **options)

    app.build_middleware_stack = build_with_limit


async def _refuse(send: Any, retry_after: bytes) -> None:
    body = (
        b'{"type":"about:blank","title":"Too Many Requests","status":429,'
        b'"detail":"ingest is at capacity, retry later"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", retry_after),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
