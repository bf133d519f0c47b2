"""The gateway's calls to the other services' internal HTTP APIs: the router, pm-sync, ingest
and the notifier.

One `Peers` per app (`app.state.peers`, made in `build_app`, closed at shutdown) holds one
httpx client, so connections are reused across requests. `call` builds the URL from the
settings (`<peer>_url` + path), adds the gateway's own internal token (the caller's
credential every peer checks, `SWITCHBOARD_INTERNAL_TOKEN`), and
turns a failed call into the same answer everywhere:

    unreachable (connection error)   502  "<peer> is unreachable (ConnectError)"
    no answer within the timeout     503  "<peer> did not answer within 5s"
                                          (504 for pm-sync, whose sync may take long)

What the peer answered is the caller's to judge (some pass a peer's 404 through); `failed`
is the usual 502 for an error status, with the peer's reason when it gave one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError

from switchboard.events.internal.ingest import PracticeLines
from switchboard.gateway.settings import GatewaySettings
from switchboard.platform.internal_api import bearer
from switchboard.platform.logging import get_logger

log = get_logger(__name__)

Service = Literal["router", "pm_sync", "ingest", "notifier"]
M = TypeVar("M", bound=BaseModel)

# ingest calls a voicemail number's channel "voice"; the staff API says "voicemail".
IngestChannel = Literal["sms", "voice", "email"]
TO_INGEST: dict[str, IngestChannel] = {"sms": "sms", "voicemail": "voice", "email": "email"}
FROM_INGEST: dict[str, str] = {v: k for k, v in TO_INGEST.items()}


@dataclass(frozen=True)
class Peer:
    name: str  # as staff read it in an error
    url: str
    timeout_s: float
    timeout_status: int = 503


class Peers:
    """The internal APIs the gateway calls, over one shared client. `transport` stands in for
    the network (tests: `httpx.MockTransport`, or `httpx.ASGITransport` to an app)."""

    def __init__(
        self, settings: GatewaySettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        s = settings
        self.peers: dict[Service, Peer] = {
            "router": Peer("the routing service (router)", s.router_url, s.router_timeout_s),
            "pm_sync": Peer(
                "the practice-management sync (pm-sync)",
                s.pm_sync_url,
                s.pm_sync_timeout_s,
                timeout_status=504,
            ),
            "ingest": Peer("the messaging service (ingest)", s.ingest_url, s.ingest_timeout_s),
            "notifier": Peer(
                "the notification service (notifier)",
                s.notifier_url,
                s.notifier_timeout_s,
            ),
        }
        self._auth = bearer(s.internal_token)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        # Made on first use, so inside the event loop that serves the app.
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(transport=self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        """`method` `<peer url><path>`; any answer is returned, a failed call raised (502/503)."""
        peer = self.peers[service]
        sent = dict(headers or {}) | self._auth
        timeout_s = peer.timeout_s if timeout_s is None else timeout_s
        try:
            return await self.client.request(
                method,
                f"{peer.url.rstrip('/')}{path}",
                params=params,
                json=json,
                content=content,
                headers=sent,
                timeout=timeout_s,
            )
        except httpx.TimeoutException:
            log.warning("peer_timeout", peer=service, path=path, timeout_s=timeout_s)
            raise HTTPException(
                peer.timeout_status, f"{peer.name} did not answer within {timeout_s:g}s"
            ) from None
        except httpx.HTTPError as exc:
            log.warning("peer_unreachable", peer=service, path=path, error=type(exc).__name__)
            raise HTTPException(502, f"{peer.name} is unreachable ({type(exc).__name__})") from None

    def failed(self, service: Service, response: httpx.Response) -> HTTPException:
        """502 for a peer that answered an error status, with its `detail` when it gave one."""
        log.warning("peer_failed", peer=service, status=response.status_code)
        what = f"{self.peers[service].name} answered HTTP {response.status_code}"
        detail = _detail(response)
        return HTTPException(502, f"{what}: {detail}" if detail else what)

    def parsed(self, service: Service, model: type[M], body: Any) -> M:
        """A peer's answer as its internal API model (switchboard.events.internal); 502 when
        it is not one (a peer out of step with the contract)."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            # The model's name and the count only: the body may hold patient data.
            log.warning(
                "peer_answer_invalid", peer=service, model=model.__name__, errors=exc.error_count()
            )
            what = f"{self.peers[service].name} answered something other than a {model.__name__}"
            raise HTTPException(502, what) from None


def _detail(response: httpx.Response) -> str | None:
    try:
        body: Any = response.json()
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else None


def of(request: Request) -> Peers:
    """The app's `Peers` (`clients.of(request).call(...)`)."""
    found: Peers = request.app.state.peers
    return found


async def router_practice(
    request: Request, method: str, practice_id: str, path: str, **kw: Any
) -> Any:
    """The router's internal API for a practice; its 404 (with its reason) passes through."""
    response = await of(request).call(
        "router", method, f"/internal/practices/{practice_id}{path}", **kw
    )
    if response.status_code == 404:
        raise HTTPException(404, response.json().get("detail", "not found"))
    if response.status_code >= 400:
        raise of(request).failed("router", response)
    return response.json()


async def router_answer(
    request: Request, model: type[M], method: str, practice_id: str, path: str, **kw: Any
) -> M:
    """`router_practice`, its answer parsed into the route's model."""
    body = await router_practice(request, method, practice_id, path, **kw)
    return of(request).parsed("router", model, body)


def relayed(answer: BaseModel) -> dict[str, Any]:
    """A parsed answer as the gateway passes it on: the JSON the peer sent (keys the peer left
    out stay out)."""
    return answer.model_dump(mode="json", by_alias=True, exclude_unset=True)


async def ingest_lines(request: Request, practice_id: str) -> list[dict[str, Any]]:
    """The practice's lines as the staff API shows them (ingest's channel names mapped)."""
    response = await of(request).call("ingest", "GET", f"/internal/practices/{practice_id}/lines")
    if response.status_code == 404:
        return []  # a practice without lines
    if response.status_code != 200:
        raise of(request).failed("ingest", response)
    out = []
    for line in of(request).parsed("ingest", PracticeLines, response.json()).lines:
        channel = FROM_INGEST.get(line.channel)
        if channel is None:
            continue
        out.append({"channel": channel, "address": line.address, "label": line.label})
    return out
